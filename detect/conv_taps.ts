/**
 * A k×k stride-1 convolution (any padding, any groups) without im2col: as k² GEMMs, one per tap (ky, kx),
 * over a zero-padded copy of the input. With the padded rows `W2 = w + 2·pad` wide, the outputs are computed
 * on a grid of `W2` columns (the last `W2 − wo` of each row are thrown away), and then the input a tap reads
 * for one channel is one contiguous run of the padded plane, shifted by `ky·W2 + kx`: a GEMM operand with the
 * plane size as its leading dimension. So a tap's GEMM reads the padded input in place, and the k² products
 * accumulate into one partial output (beta = 1) that is then copied to the map with the bias and the ReLU.
 * The im2col twin is `conv2d` of `ops.ts`; `conv_taps_test.ts` compares both with a plain direct convolution.
 *
 * The work goes band of output rows by band and group by group: the padded copy holds one group's channels
 * and the rows its band reads (`cg × (rows + k − 1) × W2`), the partial output one group's band
 * (`og × rows × W2`); both stay under {@linkcode TAPS_LIMIT} floats, so under the cache sizes for the
 * grouped 3×3 convolutions of ResNeXt, and under 16 MiB for the dense ones.
 *
 * @module
 */
import type { Scratch } from "./buffer_pool.ts";
import type { ConvParams, FeatureMap, Gemm } from "./ops.ts";

/** Floats of the largest band of the padded input or of the partial output (16 MiB). */
export const TAPS_LIMIT = 1 << 22;

const tapCache = new WeakMap<Float32Array, Float32Array>();

/** The weights `[cout, cg, k, k]` as `[k·k, cout, cg]` (one `[cout, cg]` matrix per tap); cached. */
export function tapWeights(p: ConvParams, cg: number): Float32Array {
  let t = tapCache.get(p.weight);
  if (t) return t;
  const kk = p.k * p.k;
  t = new Float32Array(p.weight.length);
  for (let o = 0; o < p.cout; o++) {
    for (let ci = 0; ci < cg; ci++) {
      for (let q = 0; q < kk; q++) t[(q * p.cout + o) * cg + ci] = p.weight[(o * cg + ci) * kk + q]!;
    }
  }
  tapCache.set(p.weight, t);
  return t;
}

/**
 * Rows [iy0, iy0 + rows) of channels [c0, c0 + cg) of `x`, padded by `pad` columns on each side and zero
 * outside the map, into `xp` `[cg, rows, W2]` (W2 = x.w + 2·pad), then `tail` zeros.
 */
export function padBand(
  x: FeatureMap,
  c0: number,
  cg: number,
  iy0: number,
  rows: number,
  pad: number,
  xp: Float32Array,
  tail: number,
): void {
  const { h, w, data } = x, W2 = w + 2 * pad;
  for (let ci = 0; ci < cg; ci++) {
    const plane = (c0 + ci) * h * w;
    for (let r = 0; r < rows; r++) {
      const iy = iy0 + r, o = (ci * rows + r) * W2;
      if (iy < 0 || iy >= h) {
        xp.fill(0, o, o + W2);
        continue;
      }
      if (pad > 0) {
        xp.fill(0, o, o + pad);
        xp.fill(0, o + pad + w, o + W2);
      }
      xp.set(data.subarray(plane + iy * w, plane + (iy + 1) * w), o + pad);
    }
  }
  xp.fill(0, cg * rows * W2, cg * rows * W2 + tail);
}

/**
 * out rows [y0, y0 + rows) of channels [c0, c0 + og) (`out` `[cout, ho, wo]`) = relu?(s + bias), s the partial
 * output `[og, rows, W2]` (its columns wo .. W2 − 1 dropped).
 */
export function stripBand(
  s: Float32Array,
  og: number,
  rows: number,
  W2: number,
  out: Float32Array,
  c0: number,
  ho: number,
  wo: number,
  y0: number,
  bias: Float32Array | undefined,
  relu: boolean,
): void {
  for (let o = 0; o < og; o++) {
    const b = bias ? bias[c0 + o]! : 0;
    for (let r = 0; r < rows; r++) {
      const si = (o * rows + r) * W2, di = ((c0 + o) * ho + y0 + r) * wo;
      if (relu) {
        for (let i = 0; i < wo; i++) {
          const v = s[si + i]! + b;
          out[di + i] = v > 0 ? v : 0;
        }
      } else for (let i = 0; i < wo; i++) out[di + i] = s[si + i]! + b;
    }
  }
}

/**
 * y = conv(x) (+ bias, ReLU) for stride 1 into `out` `[cout, ho, wo]` (every element written); `limit`: the
 * band size (floats, default {@linkcode TAPS_LIMIT}).
 */
export function convTaps(
  gemm: Gemm,
  x: FeatureMap,
  p: ConvParams,
  out: Float32Array,
  scratch: Scratch,
  limit: number = TAPS_LIMIT,
): void {
  const { k, pad, groups, cout } = p;
  if (p.stride !== 1) throw new RangeError(`convTaps needs stride 1, got ${p.stride}`);
  const ho = x.h + 2 * pad - k + 1, wo = x.w + 2 * pad - k + 1, W2 = x.w + 2 * pad;
  const cg = x.c / groups, og = cout / groups, taps = tapWeights(p, cg);
  // rows per band: the padded band and the partial output both under TAPS_LIMIT
  const band = Math.max(1, Math.min(ho, Math.floor(limit / (Math.max(cg, og) * W2)) - (k - 1)));
  for (let y0 = 0; y0 < ho; y0 += band) {
    const rows = Math.min(band, ho - y0), rp = rows + k - 1, n = rows * W2, ldb = rp * W2;
    // a tap reads up to k − 1 floats past the band for the dropped columns of its last row: zeros
    const xp = scratch.get("taps_in", cg * ldb + k), s = scratch.get("taps_out", og * n);
    for (let g = 0; g < groups; g++) {
      padBand(x, g * cg, cg, y0 - pad, rp, pad, xp, k);
      for (let q = 0; q < k * k; q++) {
        const ky = Math.floor(q / k), kx = q % k;
        // s [og, n] (+)= W_q [og, cg] · xp shifted [cg, n] (rows ldb apart)
        gemm.run(og, n, cg, taps.subarray((q * cout + g * og) * cg), xp.subarray(ky * W2 + kx), s, {
          ldb,
          beta: q > 0 ? 1 : 0,
        });
      }
      stripBand(s, og, rows, W2, out, g * og, ho, wo, y0, p.bias, p.relu ?? false);
    }
  }
}
