/**
 * Synthetic scenes: 2-6 coloured shapes of two sizes on a 640×480 canvas, placed without overlap, and the
 * facts the captions and questions are made of (the two most salient objects, their relation, counts).
 *
 * @module
 */
import type { Rng } from "@vlp/model/rng";

/** Canvas size in pixels (a typical COCO image). */
export const CANVAS = { width: 640, height: 480 } as const;

/** Shapes, in the order of their attribute code. */
export const SHAPES = ["circle", "square", "triangle"] as const;
/** A shape name. */
export type Shape = typeof SHAPES[number];

/** Colours with their nominal RGB (0..1); nearby colours (red/orange, blue/purple) are easier to confuse. */
export const COLOURS = {
  red: [0.86, 0.12, 0.12],
  orange: [0.98, 0.55, 0.08],
  yellow: [0.95, 0.86, 0.12],
  green: [0.16, 0.66, 0.24],
  blue: [0.14, 0.32, 0.88],
  purple: [0.56, 0.18, 0.72],
} as const satisfies Record<string, readonly [number, number, number]>;
/** A colour name. */
export type Colour = keyof typeof COLOURS;
/** Colour names in code order. */
export const COLOUR_NAMES = Object.keys(COLOURS) as Colour[];

/** Size classes: the half-extent in pixels is drawn from these ranges. */
export const SIZES = { small: [26, 40], large: [62, 84] } as const;
/** A size class. */
export type Size = keyof typeof SIZES;

/** One object of a scene. */
export interface SceneObject {
  shape: Shape;
  colour: Colour;
  size: Size;
  /** Rendered colour: the nominal RGB with a little jitter (0..1). */
  rgb: [number, number, number];
  /** Centre in pixels. */
  cx: number;
  cy: number;
  /** Half-extent in pixels (radius of a circle, half side of a square, half width of a triangle). */
  r: number;
}

/** A scene: an image id and its objects, largest first. */
export interface Scene {
  /** Numeric image id (the COCO-style evaluation id). */
  id: number;
  objects: SceneObject[];
}

/** Spatial relation of one object to another, as words. */
export type Relation = "left of" | "right of" | "above" | "below";

/**
 * Draw a scene of 2-6 objects, sorted largest first. Placements are retried until no two objects overlap,
 * and sizes until the largest is clearly (10%) larger than the second and the second than the third, so the
 * captions' "most salient" objects are well defined.
 */
export function sampleScene(rng: Rng, id: number): Scene {
  for (;;) {
    const objects = sampleObjects(rng, 2 + rng.int(5));
    objects.sort((a, b) => b.r - a.r);
    const clear = (i: number) => i + 1 >= objects.length || objects[i]!.r >= 1.1 * objects[i + 1]!.r;
    if (clear(0) && clear(1)) return { id, objects };
  }
}

function sampleObjects(rng: Rng, n: number): SceneObject[] {
  const objects: SceneObject[] = [];
  while (objects.length < n) {
    const size: Size = rng.float() < 0.4 ? "large" : "small";
    const [lo, hi] = SIZES[size];
    const r = rng.uniform(lo, hi);
    let placed = false;
    for (let tries = 0; tries < 200 && !placed; tries++) {
      const cx = rng.uniform(r + 8, CANVAS.width - r - 8);
      const cy = rng.uniform(r + 8, CANVAS.height - r - 8);
      if (objects.every((o) => Math.hypot(o.cx - cx, o.cy - cy) > o.r + r + 12)) {
        const shape = SHAPES[rng.int(SHAPES.length)]!;
        const colour = COLOUR_NAMES[rng.int(COLOUR_NAMES.length)]!;
        const rgb = COLOURS[colour].map((c) => clamp01(c + rng.uniform(-0.06, 0.06))) as [
          number,
          number,
          number,
        ];
        objects.push({ shape, colour, size, rgb, cx, cy, r });
        placed = true;
      }
    }
    // A crowded canvas: restart with fresh placements (rare).
    if (!placed) objects.length = 0;
  }
  return objects;
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}

/**
 * The clearest relation of `a` to `b`: horizontal when the centres differ more in x than in y, else
 * vertical (image y grows downwards).
 */
export function relation(a: SceneObject, b: SceneObject): Relation {
  const dx = a.cx - b.cx, dy = a.cy - b.cy;
  if (Math.abs(dx) >= Math.abs(dy)) return dx < 0 ? "left of" : "right of";
  return dy < 0 ? "above" : "below";
}

/** The relation seen from the other object. */
export function inverse(rel: Relation): Relation {
  return ({ "left of": "right of", "right of": "left of", above: "below", below: "above" } as const)[rel];
}

/** True when `a` is clearly `rel` of `b` (at least 40 px apart along that axis). */
export function holds(a: SceneObject, b: SceneObject, rel: Relation): boolean {
  const dx = a.cx - b.cx, dy = a.cy - b.cy, m = 40;
  if (rel === "left of") return dx < -m;
  if (rel === "right of") return dx > m;
  if (rel === "above") return dy < -m;
  return dy > m;
}

/** Which third of the canvas the object's centre is in, horizontally. */
export function side(o: SceneObject): "left" | "middle" | "right" {
  const t = o.cx / CANVAS.width;
  return t < 1 / 3 ? "left" : t > 2 / 3 ? "right" : "middle";
}

/** Objects matching an optional shape / colour / size description. */
export function matching(
  scene: Scene,
  d: { shape?: Shape; colour?: Colour; size?: Size },
): SceneObject[] {
  return scene.objects.filter((o) =>
    (d.shape === undefined || o.shape === d.shape) && (d.colour === undefined || o.colour === d.colour) &&
    (d.size === undefined || o.size === d.size)
  );
}
