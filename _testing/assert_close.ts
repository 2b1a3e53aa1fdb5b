/**
 * Closeness assertion for numeric arrays: |actual - expected| <= atol + rtol * |expected| element-wise.
 * On failure the message names the array, the max errors and the first mismatches with their
 * multi-dimensional indices, e.g. `[1,7,3] actual=0.1234 expected=0.1301`.
 */
import { AssertionError } from "node:assert";

/** Any array-like of numbers we compare. */
export type NumArray = ArrayLike<number>;

/** Options of {@linkcode assertClose}. */
export interface CloseOptions {
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Relative tolerance, relative to |expected| per element (default 1e-6). */
  rtol?: number;
  /** Shape used to print mismatch indices; defaults to a flat index. */
  shape?: readonly number[];
  /** Name printed in the message. */
  name?: string;
  /** How many mismatches to print (default 5). */
  show?: number;
}

/** Statistics of the element-wise difference of two arrays. */
export interface DiffStats {
  maxAbs: number;
  maxRel: number;
  argMaxAbs: number;
}

/** Max absolute and relative (to |expected|) differences; NaN anywhere gives Infinity. */
export function diffStats(actual: NumArray, expected: NumArray): DiffStats {
  let maxAbs = 0, maxRel = 0, argMaxAbs = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    let d = Math.abs(a - e);
    if (Number.isNaN(d)) d = Number.isNaN(a) && Number.isNaN(e) ? 0 : Infinity;
    if (d > maxAbs) {
      maxAbs = d;
      argMaxAbs = i;
    }
    const r = d === 0 ? 0 : d / Math.max(Math.abs(e), 1e-30);
    if (r > maxRel) maxRel = r;
  }
  return { maxAbs, maxRel, argMaxAbs };
}

/** Turn a flat index into a multi-dimensional one. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** Assert two arrays are element-wise close; throws an AssertionError listing the first mismatches. */
export function assertClose(actual: NumArray, expected: NumArray, opts: CloseOptions = {}): void {
  const { atol = 1e-6, rtol = 1e-6, shape, name = "array", show = 5 } = opts;
  if (actual.length !== expected.length) {
    throw new AssertionError({
      message: `${name}: length ${actual.length} differs from expected length ${expected.length}`,
    });
  }
  if (shape && shape.reduce((a, b) => a * b, 1) !== expected.length) {
    throw new TypeError(`${name}: shape [${shape}] does not match length ${expected.length}`);
  }
  const bad: string[] = [];
  let nBad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    const ok = Math.abs(a - e) <= atol + rtol * Math.abs(e) || (Number.isNaN(a) && Number.isNaN(e)) ||
      (a === e);
    if (!ok) {
      nBad++;
      if (bad.length < show) {
        const at = shape ? `[${unravel(i, shape).join(",")}]` : `[${i}]`;
        bad.push(`  ${at} actual=${a} expected=${e} diff=${Math.abs(a - e)}`);
      }
    }
  }
  if (nBad > 0) {
    const s = diffStats(actual, expected);
    throw new AssertionError({
      message: `${name}: ${nBad} of ${expected.length} elements differ beyond atol=${atol} rtol=${rtol}` +
        ` (max abs ${s.maxAbs}, max rel ${s.maxRel})\n${bad.join("\n")}`,
    });
  }
}
