/**
 * Attention softmax with an additive mask, over the last dimension of scores [S, NH, Lq, Lk]:
 *
 *   p[s,h,i,:] = softmax(x[s,h,i,:] + mask[s,i,:])       (mask [S, Lq, Lk], shared by the NH heads)
 *
 * VLP's mask is (1 − m)·(−10000) for a 0/1 matrix m (see {@linkcode additiveMask}). Backward:
 * dx = p ⊙ (dp − Σⱼ pⱼ·dpⱼ), written. One row at a time, max subtracted before exp, float64 sums.
 *
 * @module
 */
import type { FloatArray } from "./types.ts";
import { expFast } from "./fastmath.ts";

/** p = softmax(x + mask) row by row; `heads` = NH, `lq`, `lk` as in the module doc. */
export function softmaxForward(
  x: FloatArray,
  mask: FloatArray,
  p: FloatArray,
  heads: number,
  lq: number,
  lk: number,
): void {
  if (x instanceof Float32Array && mask instanceof Float32Array && p instanceof Float32Array) {
    return softmaxForward32(x, mask, p, heads, lq, lk);
  }
  const rows = x.length / lk;
  for (let r = 0; r < rows; r++) {
    const o = r * lk;
    const s = Math.floor(r / (heads * lq)), i = r % lq;
    const mo = (s * lq + i) * lk;
    let max = -Infinity;
    for (let j = 0; j < lk; j++) {
      const v = x[o + j] + mask[mo + j];
      if (v > max) max = v;
    }
    let sum = 0;
    for (let j = 0; j < lk; j++) {
      const e = Math.exp(x[o + j] + mask[mo + j] - max);
      p[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < lk; j++) p[o + j] *= inv;
  }
}

// float32 storage: the fast exp (module fastmath.ts)
function softmaxForward32(
  x: Float32Array,
  mask: Float32Array,
  p: Float32Array,
  heads: number,
  lq: number,
  lk: number,
): void {
  const rows = x.length / lk;
  for (let r = 0; r < rows; r++) {
    const o = r * lk;
    const mo = (Math.floor(r / (heads * lq)) * lq + (r % lq)) * lk;
    let max = -Infinity;
    for (let j = 0; j < lk; j++) {
      const v = x[o + j] + mask[mo + j];
      if (v > max) max = v;
    }
    let sum = 0;
    for (let j = 0; j < lk; j++) {
      const e = expFast(x[o + j] + mask[mo + j] - max);
      p[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < lk; j++) p[o + j] *= inv;
  }
}

/** dx = p ⊙ (dp − Σ p·dp) row by row (rows of width `lk`). */
export function softmaxBackward(p: FloatArray, dp: FloatArray, dx: FloatArray, lk: number): void {
  const rows = p.length / lk;
  for (let r = 0; r < rows; r++) {
    const o = r * lk;
    let dot = 0;
    for (let j = 0; j < lk; j++) dot += p[o + j] * dp[o + j];
    for (let j = 0; j < lk; j++) dx[o + j] = p[o + j] * (dp[o + j] - dot);
  }
}

/** VLP's additive mask from a 0/1 mask: (1 − m)·(−10000), written into `out` (same length). */
export function additiveMask<T extends FloatArray>(m: ArrayLike<number>, out: T): T {
  for (let i = 0; i < m.length; i++) out[i] = (1 - m[i]) * -10000;
  return out;
}
