/**
 * Dropout with a counter-based mask: element i of a call with seed s is kept when
 *
 *   hash(i, s) ≥ ⌊p · 2³²⌋,     hash(i, s) = mix((i · 0x9e3779b9 + s) mod 2³²)
 *
 * where mix is a 32-bit integer finaliser (xor-shift / multiply, two rounds): a SplitMix-style hash of a
 * Weyl sequence. Kept elements are scaled by
 * 1/(1 − p) (PyTorch's inverted dropout). The mask is never stored: the backward recomputes it from the
 * same seed, and any backend (WebGPU: u32 arithmetic in WGSL) produces the identical mask. Seeds are drawn
 * from the model's {@linkcode Rng}, one per call site and step.
 *
 * @module
 */
import type { FloatArray } from "./types.ts";

/** 32-bit integer finaliser (two xor-shift-multiply rounds). */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The uint32 that decides element `i` of a dropout call with `seed`. */
export function dropoutHash(i: number, seed: number): number {
  return mix32((Math.imul(i, 0x9e3779b9) + seed) >>> 0);
}

/** Keep threshold of a drop probability p: element kept iff hash ≥ threshold. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new RangeError(`Cannot apply dropout: probability ${p} is not in [0, 1)`);
  return Math.floor(p * 4294967296);
}

/** y = x · keep / (1 − p). */
export function dropoutForward(x: FloatArray, y: FloatArray, p: number, seed: number, n = x.length): void {
  const thr = dropoutThreshold(p), scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) {
    // mix32 inlined
    let h = (Math.imul(i, 0x9e3779b9) + seed) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    h = (h ^ (h >>> 16)) >>> 0;
    y[i] = h >= thr ? x[i] * scale : 0;
  }
}

/** dx = dy · keep / (1 − p), the same mask as the forward with this seed. */
export function dropoutBackward(
  dy: FloatArray,
  dx: FloatArray,
  p: number,
  seed: number,
  n = dy.length,
): void {
  dropoutForward(dy, dx, p, seed, n);
}
