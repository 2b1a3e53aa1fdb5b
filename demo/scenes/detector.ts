/**
 * A simulated object detector: turns a scene into the 100 regions VLP reads, like Detectron's output
 * (spec §6.3). Each object gives one confident detection and overlapping low-confidence boxes (parts,
 * loose boxes; 70% of the slots in all, shared in proportion to the objects' areas); background clutter
 * fills the remaining slots with low confidence.
 *
 * - Appearance features `[R, F]`: a region's attributes (shape, colour as hue-tuned responses, size,
 *   objectness, clutter texture) form a 24-d code, mapped through a FIXED random projection to 2048
 *   dimensions, plus Gaussian noise, minus a threshold, through a ReLU (fc6-like: non-negative and sparse,
 *   about a quarter active). Colour comes from the jittered RGB through smooth hue tuning, so nothing is a
 *   lookup: the model must learn to read attributes back out of noisy features.
 * - Class probabilities `[R, K]` (K = 1601, index 0 = background): the shape's class gets the detection's
 *   confidence, the rest is spread over background, a few confusable classes and all classes. They carry
 *   the shape, never the colour or size.
 * - Boxes `[R, 6]`: `x1, y1, x2, y2` in pixels, the best foreground class, its probability.
 *
 * The projection, class assignment and noise table come from {@linkcode DETECTOR_SEED}, not from the scene
 * seed: every scene set is "seen" by the same detector.
 *
 * @module
 */
import type { ImageRegions, RegionDims } from "@vlp/features";
import { VLP_DIMS } from "@vlp/features";
import { Rng } from "@vlp/model/rng";
import { CANVAS, type Scene, type SceneObject, SHAPES } from "./scene.ts";

/** Seed of the detector's fixed parts (projection, class ids, noise table). */
export const DETECTOR_SEED = 20200101;

/**
 * Subtracted before the ReLU so that about a quarter of the 2048 values are active (fc6-like sparsity):
 * dense non-negative inputs share one large mean vector that swamps what tells regions apart.
 */
export const FEATURE_THRESHOLD = 0.8;

/** Scale of the active feature values (fc6 activations are a few units large). */
export const FEATURE_SCALE = 2;

/** Share of the R regions that are boxes on objects (the rest is background clutter). */
export const PART_SHARE = 0.7;

/**
 * Layout of the attribute code: shape one-hot, colour as the responses of hue-tuned channels (a Gaussian
 * of the hue distance, scaled by saturation: continuous, and nearby hues overlap), size, objectness, a
 * clutter texture one-hot.
 */
const SHAPE_AT = 0,
  HUE_AT = 3,
  HUES = 8,
  SIZE_AT = HUE_AT + HUES,
  OBJ_AT = SIZE_AT + 1,
  TEXTURE_AT = OBJ_AT + 1;

/** Peak response of a hue channel (colour is the strongest part of an object's appearance here). */
const HUE_GAIN = 3;
/** Standard deviation of the per-value feature noise (before scaling; parts are noisier). */
const NOISE = 0.45;

/** Size of the attribute code (D). */
export const CODE_SIZE = 24;
const TEXTURES = 8;

/** The detector's class index of each shape (arbitrary fixed foreground classes of the 1601). */
export const SHAPE_CLASSES: Readonly<Record<typeof SHAPES[number], number>> = {
  circle: 233,
  square: 1072,
  triangle: 1412,
};

/** Storage dtype of features and class probabilities. */
export type RegionDtype = "float16" | "float32";

interface Region {
  box: [number, number, number, number];
  /** Best class and its probability. */
  cls: number;
  conf: number;
  /** Attribute code [D]. */
  code: Float32Array;
  /** Extra feature noise multiplier (parts are noisier). */
  noise: number;
  /** Background probability share of the non-best mass. */
  background: number;
}

/** The simulated detector (fixed projection and classes; per-image randomness from the caller's Rng). */
export class SceneDetector {
  readonly dims: RegionDims;
  readonly dtype: RegionDtype;
  /** [D, F] projection (transposed). */
  readonly #projT: Float32Array;
  /** [F] scratch: projection of one region's code. */
  readonly #acc: Float32Array;
  /** 65536 standard normal values, indexed by random 16-bit numbers (fast noise). */
  readonly #normals: Float32Array;
  readonly #clutterClasses: number[];

  constructor(opts: { dims?: RegionDims; dtype?: RegionDtype } = {}) {
    this.dims = opts.dims ?? VLP_DIMS;
    this.dtype = opts.dtype ?? "float16";
    const rng = new Rng(DETECTOR_SEED);
    const F = this.dims.F, proj = rng.fillNormal(new Float32Array(F * CODE_SIZE), 0, 0.5); // [F, D]
    this.#projT = new Float32Array(CODE_SIZE * F); // [D, F]: rows of one code entry are contiguous
    for (let j = 0; j < F; j++) {
      for (let d = 0; d < CODE_SIZE; d++) this.#projT[d * F + j] = proj[j * CODE_SIZE + d]!;
    }
    this.#acc = new Float32Array(F);
    this.#normals = rng.fillNormal(new Float32Array(65536));
    const shapeIds = new Set(Object.values(SHAPE_CLASSES));
    this.#clutterClasses = [];
    while (this.#clutterClasses.length < 24) {
      const c = 1 + rng.int(this.dims.K - 1);
      if (!shapeIds.has(c) && !this.#clutterClasses.includes(c)) this.#clutterClasses.push(c);
    }
  }

  /** The image's R regions: detections of objects and their parts, then clutter, in random order. */
  detect(scene: Scene, rng: Rng): ImageRegions {
    const { R, F, K } = this.dims;
    const regions: Region[] = [];
    for (const o of scene.objects) regions.push(objectRegion(o, rng));
    // Overlapping lower-confidence boxes on the objects, in proportion to their areas (a detector's top-100
    // boxes crowd on the salient objects); clutter gets the rest.
    const area = scene.objects.reduce((s, o) => s + o.r * o.r, 0);
    const budget = Math.round(R * PART_SHARE) - scene.objects.length;
    for (const o of scene.objects) {
      const parts = Math.max(2, Math.round((budget * o.r * o.r) / area));
      for (let i = 0; i < parts && regions.length < R; i++) regions.push(partRegion(o, rng));
    }
    if (regions.length > R) throw new RangeError(`Scene ${scene.id} has more detections than ${R} regions`);
    while (regions.length < R) regions.push(clutterRegion(rng, this.#clutterClasses));
    rng.shuffle(regions);

    const feats = new Float32Array(R * F); // [R, F]
    const cls = new Float32Array(R * K); // [R, K]
    const bbox = new Float32Array(R * 6); // [R, 6]
    for (let i = 0; i < R; i++) {
      const g = regions[i]!;
      this.#features(g, rng, feats.subarray(i * F, (i + 1) * F));
      const best = classProbs(g, rng, this.#clutterClasses, cls.subarray(i * K, (i + 1) * K));
      bbox.set([...g.box, best, cls[i * K + best]!], i * 6);
    }
    const store = (a: Float32Array) =>
      this.dtype === "float16"
        ? { dtype: "float16" as const, data: Float16Array.from(a) }
        : { dtype: "float32" as const, data: a };
    return {
      feats: { ...store(feats), shape: [R, F] },
      cls: { ...store(cls), shape: [R, K] },
      bbox: { dtype: "float32", shape: [R, 6], data: bbox },
    };
  }

  /** scale · relu(P · code + noise − threshold): [F]. */
  #features(g: Region, rng: Rng, out: Float32Array): void {
    const F = this.dims.F, PT = this.#projT, acc = this.#acc, z = this.#normals, code = g.code;
    const s = NOISE * g.noise;
    acc.fill(0);
    for (let d = 0; d < CODE_SIZE; d++) {
      const c = code[d]!;
      if (c === 0) continue;
      for (let j = 0, k = d * F; j < F; j++, k++) acc[j] += PT[k]! * c;
    }
    for (let j = 0; j < F; j++) {
      const v = acc[j]! + s * z[rng.nextU32() >>> 16]! - FEATURE_THRESHOLD;
      out[j] = v > 0 ? FEATURE_SCALE * v : 0;
    }
  }
}

/** The code of an object-like region: shape one-hot, centred RGB, size, objectness. */
function objectCode(o: SceneObject, strength: number, objectness: number, sizeScale: number): Float32Array {
  const c = new Float32Array(CODE_SIZE);
  c[SHAPE_AT + SHAPES.indexOf(o.shape)] = strength;
  hueResponses(o.rgb, strength, c);
  c[SIZE_AT] = sizeCode(o.r * sizeScale);
  c[OBJ_AT] = objectness;
  return c;
}

/** The size entry of the code from a half-extent in pixels, clamped to ±1.5. */
function sizeCode(halfExtent: number): number {
  return Math.max(-1.5, Math.min(1.5, (halfExtent - 50) / 25));
}

/** Hue-tuned channel responses of an RGB colour (0..1), times `strength`, into `code[HUE_AT..]`. */
function hueResponses(rgb: readonly number[], strength: number, code: Float32Array): void {
  const [r, g, b] = rgb as [number, number, number];
  const max = Math.max(r, g, b), min = Math.min(r, g, b), chroma = max - min;
  const saturation = max > 0 ? chroma / max : 0;
  let hue = 0; // degrees
  if (chroma > 0) {
    if (max === r) hue = 60 * (((g - b) / chroma + 6) % 6);
    else if (max === g) hue = 60 * ((b - r) / chroma + 2);
    else hue = 60 * ((r - g) / chroma + 4);
  }
  for (let k = 0; k < HUES; k++) {
    const d = Math.abs(((hue - (360 * k) / HUES + 540) % 360) - 180);
    code[HUE_AT + k] = strength * saturation * Math.exp(-(d * d) / (2 * 30 * 30)) * HUE_GAIN;
  }
}

function clampBox(x1: number, y1: number, x2: number, y2: number): [number, number, number, number] {
  const cx = (v: number) => Math.min(CANVAS.width - 1, Math.max(0, v));
  const cy = (v: number) => Math.min(CANVAS.height - 1, Math.max(0, v));
  return [cx(x1), cy(y1), cx(x2), cy(y2)];
}

function objectRegion(o: SceneObject, rng: Rng): Region {
  const j = () => rng.uniform(-4, 4);
  return {
    box: clampBox(o.cx - o.r + j(), o.cy - o.r + j(), o.cx + o.r + j(), o.cy + o.r + j()),
    cls: SHAPE_CLASSES[o.shape],
    conf: rng.uniform(0.7, 0.98),
    code: objectCode(o, 1, 1, 1),
    noise: 1,
    background: rng.uniform(0.1, 0.5),
  };
}

/** A partial or loose detection of an object: part of its box, weaker and noisier features. */
function partRegion(o: SceneObject, rng: Rng): Region {
  const w = o.r * rng.uniform(0.8, 1.6), h = o.r * rng.uniform(0.8, 1.6);
  const x = o.cx + rng.uniform(-0.6, 0.6) * o.r, y = o.cy + rng.uniform(-0.6, 0.6) * o.r;
  return {
    box: clampBox(x - w / 2, y - h / 2, x + w / 2, y + h / 2),
    cls: SHAPE_CLASSES[o.shape],
    conf: rng.uniform(0.12, 0.4),
    code: objectCode(o, 0.7, 0.4, Math.min(w, h) / (2 * o.r)),
    noise: 1.3,
    background: rng.uniform(0.4, 0.8),
  };
}

/** Background clutter: a random box, a grey-ish texture, a background-like class, low confidence. */
function clutterRegion(rng: Rng, classes: readonly number[]): Region {
  const w = rng.uniform(16, 320), h = rng.uniform(16, 240);
  const x = rng.uniform(0, CANVAS.width - w), y = rng.uniform(0, CANVAS.height - h);
  const c = new Float32Array(CODE_SIZE);
  const grey = rng.uniform(0.3, 0.7);
  hueResponses([0, 1, 2].map(() => grey + rng.uniform(-0.05, 0.05)), 1, c);
  c[SIZE_AT] = sizeCode(Math.sqrt(w * h) / 2);
  c[TEXTURE_AT + rng.int(TEXTURES)] = 1;
  return {
    box: clampBox(x, y, x + w, y + h),
    cls: classes[rng.int(classes.length)]!,
    conf: rng.uniform(0.01, 0.2),
    code: c,
    noise: 1,
    background: rng.uniform(0.6, 0.95),
  };
}

/**
 * Fill one region's class-probability row [K] (sums to 1) and return its best foreground class: the
 * detection's class gets `conf`, background (index 0) a share of the rest, three confusable classes and a
 * uniform floor the remainder.
 */
function classProbs(g: Region, rng: Rng, clutter: readonly number[], out: Float32Array): number {
  const K = out.length;
  const rest = 1 - g.conf;
  const bg = rest * g.background;
  const spread = rest - bg;
  out.fill((spread * 0.3) / (K - 1));
  out[0] = bg;
  out[g.cls]! += g.conf;
  const confusers = [...Object.values(SHAPE_CLASSES), ...clutter].filter((c) => c !== g.cls);
  const w = [rng.float(), rng.float(), rng.float()];
  const ws = w[0]! + w[1]! + w[2]!;
  for (const x of w) out[confusers[rng.int(confusers.length)]!]! += (spread * 0.7 * x) / ws;
  let best = 1;
  for (let k = 2; k < K; k++) if (out[k]! > out[best]!) best = k;
  return best;
}
