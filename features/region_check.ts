/**
 * The checks on an image's region arrays once read, one implementation for every reader and writer: the
 * model's readers (`RegionReader.load`, behind train, decode and eval-vqa2) stop on the first problem, the
 * data-set checker (`check-data`) lists them all, and a writer of region files (a detector) checks its
 * output with {@linkcode checkImageRegions} before writing. Each check is one pass over the stored array
 * (float16 on its bits), so reading costs about the same with them.
 *
 * - dtype: features, class probabilities and boxes are floats (float16, float32 or float64), never integers;
 * - finite: no NaN or ±Inf, and no float64 value beyond float32's range (it would become Inf in the model);
 * - boxes `[x1, y1, x2, y2, class, confidence]` in image pixels: x1 ≤ x2 and y1 ≤ y2, coordinates within
 *   [−1, 100000], a class index 0..K−1, a confidence in [0, 1], and not every box at 0 (the image size is
 *   estimated from the boxes).
 *
 * @module
 */
import type { NdArray } from "@vlp/io";
import type { ImageRegions, RegionDims, RegionPart } from "./regions.ts";

/** What can be wrong with one array. */
export type ProblemKind = "missing" | "shape" | "dtype" | "nonfinite" | "box" | "unreadable";
/** Every problem kind, in report order. */
export const PROBLEM_KINDS: readonly ProblemKind[] = [
  "missing",
  "shape",
  "dtype",
  "nonfinite",
  "box",
  "unreadable",
];

/** One problem of one image. */
export interface RegionProblem {
  imgId: string;
  part: RegionPart;
  kind: ProblemKind;
  message: string;
}

/** Pixel coordinates beyond this (or below −1) are not an image's. */
export const MAX_BOX_COORDINATE = 100000;

const FLOAT_DTYPES = new Set(["float16", "float32", "float64"]);
const FLOAT32_MAX = 3.4028234663852886e38;
/** float16 and float32 round a confidence of 1 to at most this. */
const MAX_CONFIDENCE = 1 + 1e-3;

/**
 * Index of the first element that is not a finite float32 value (NaN, ±Inf, or a float64 beyond float32's
 * range), or −1. float16 is checked on its bits.
 */
export function firstNonFinite(a: NdArray): number {
  if (a.dtype === "float16") {
    const bits = new Uint16Array(a.data.buffer, a.data.byteOffset, a.data.length);
    for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7c00) === 0x7c00) return i;
    return -1;
  }
  if (a.dtype === "float64") {
    const d = a.data as Float64Array;
    for (let i = 0; i < d.length; i++) if (!(Math.abs(d[i]!) <= FLOAT32_MAX)) return i;
    return -1;
  }
  const d = a.data as ArrayLike<number>;
  for (let i = 0; i < d.length; i++) if (d[i]! - d[i]! !== 0) return i; // NaN and ±Inf give NaN
  return -1;
}

/** `[r, c] (element i)` of a flat index in a 2-d array. */
function at(a: NdArray, i: number): string {
  const cols = a.shape[a.shape.length - 1] || 1;
  return `[${Math.floor(i / cols)}, ${i % cols}] (element ${i})`;
}

/** What is wrong with finite `[R, 6]` boxes (see the module doc), or null. */
export function boxProblem(bbox: NdArray, K: number): string | null {
  const d = bbox.data as ArrayLike<number>, R = d.length / 6;
  let extent = 0;
  for (let r = 0; r < R; r++) {
    const [x1, y1, x2, y2, c, p] = [0, 1, 2, 3, 4, 5].map((k) => Number(d[r * 6 + k]));
    const box = () => `box ${r} [${x1}, ${y1}, ${x2}, ${y2}]`;
    if (x2! < x1! || y2! < y1!) return `${box()} has x2 < x1 or y2 < y1`;
    if (Math.min(x1!, y1!) < -1 || Math.max(x2!, y2!) > MAX_BOX_COORDINATE) {
      return `${box()} is outside [-1, ${MAX_BOX_COORDINATE}] pixels`;
    }
    if (!Number.isInteger(c) || c! < 0 || c! >= K) {
      return `box ${r} has class index ${c}, not one of 0..${K - 1}`;
    }
    if (!(p! >= 0 && p! <= MAX_CONFIDENCE)) return `box ${r} has confidence ${p}, not in [0, 1]`;
    extent = Math.max(extent, x2!, y2!);
  }
  return R > 0 && extent <= 0 ? "every box is at 0: no image size can be estimated" : null;
}

/**
 * The first problem of one stored region array (dtype, then finiteness, then, for `bbox`, the boxes), or
 * null; `K` is the number of detector classes. The message reads after the array's name:
 * `has NaN at [5, 7] (element 10247)`.
 */
export function arrayProblem(
  part: RegionPart,
  a: NdArray,
  K: number,
): { kind: ProblemKind; message: string } | null {
  if (!FLOAT_DTYPES.has(a.dtype)) {
    return { kind: "dtype", message: `is ${a.dtype}, expected float16, float32 or float64` };
  }
  const bad = firstNonFinite(a);
  if (bad >= 0) return { kind: "nonfinite", message: `has ${a.data[bad]} at ${at(a, bad)}` };
  if (part === "bbox") {
    const why = boxProblem(a, K);
    if (why) return { kind: "box", message: `has an absurd box: ${why}` };
  }
  return null;
}

/**
 * Every dtype, finiteness and box problem of one image's arrays (shapes are the writer's to get right:
 * `[R, F]`, `[R, K]`, `[R, 6]`); an empty list means they are fit to write. For writers of region files.
 */
export function checkImageRegions(imgId: string, r: ImageRegions, dims: RegionDims): RegionProblem[] {
  const out: RegionProblem[] = [];
  const cols = { feats: dims.F, cls: dims.K, bbox: 6 };
  for (const part of ["feats", "cls", "bbox"] as const) {
    const a = r[part], want = [dims.R, cols[part]];
    if (a.shape.length !== 2 || a.shape[0] !== want[0] || a.shape[1] !== want[1]) {
      const message = `${part} of "${imgId}" has shape [${a.shape.join(", ")}], expected [${
        want.join(", ")
      }]`;
      out.push({ imgId, part, kind: "shape", message });
      continue;
    }
    const p = arrayProblem(part, a, dims.K);
    if (p) out.push({ imgId, part, kind: p.kind, message: `${part} of "${imgId}" ${p.message}` });
  }
  return out;
}
