/**
 * The 1607-d region geometry + class vector VLP's loader builds for each detector box (spec §6.3):
 * boxes normalised by the width/height estimated from the boxes themselves, relative area, detector
 * confidence, then a parameter-free LayerNorm (eps 1e-5) over the 6 box numbers and another over the
 * K = 1601 class probabilities. Computed in float32 like the original, the LayerNorms accumulated in
 * float64.
 *
 * @module
 */

/** LayerNorm epsilon of `F.layer_norm`. */
export const LN_EPS = 1e-5;

const f32 = Math.fround;

/** Parameter-free LayerNorm of `x[off, off + n)` into `out[outOff, outOff + n)` (biased variance). */
function layerNorm(x: ArrayLike<number>, off: number, n: number, out: Float32Array, outOff: number): void {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[off + i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = x[off + i]! - mean;
    v += d * d;
  }
  const inv = 1 / Math.sqrt(v / n + LN_EPS);
  for (let i = 0; i < n; i++) out[outOff + i] = (x[off + i]! - mean) * inv;
}

/**
 * Region vectors of one image.
 * @param bbox `[R, 6]` raw boxes `x1, y1, x2, y2, class index, confidence` in image pixels
 * @param cls `[R, K]` class probabilities (float16 or float32 values)
 * @param R number of regions
 * @returns `[R, 6 + K]`: `LayerNorm([x1/W, y1/H, x2/W, y2/H, area, conf]) ++ LayerNorm(cls)`
 */
export function regionVector(bbox: ArrayLike<number>, cls: ArrayLike<number>, R: number): Float32Array {
  if (R <= 0 || bbox.length !== R * 6 || cls.length % R !== 0) {
    throw new TypeError(
      `regionVector: expected bbox [${R}, 6] and cls [${R}, K], got ${bbox.length} and ${cls.length} values`,
    );
  }
  const K = cls.length / R, G = 6 + K;
  // W/H estimated from the boxes: max over all x (resp. y) coordinates, + 1e-5 (float32 arithmetic)
  let wMax = -Infinity, hMax = -Infinity;
  for (let r = 0; r < R; r++) {
    wMax = Math.max(wMax, bbox[r * 6]!, bbox[r * 6 + 2]!);
    hMax = Math.max(hMax, bbox[r * 6 + 1]!, bbox[r * 6 + 3]!);
  }
  const wEst = f32(f32(wMax) + 1e-5), hEst = f32(f32(hMax) + 1e-5);
  if (!(wEst > 0) || !(hEst > 0)) {
    throw new RangeError(`regionVector: estimated image size ${wEst}x${hEst} is not positive (bad boxes)`);
  }
  const out = new Float32Array(R * G); // [R, G]
  const g = new Float32Array(6);
  for (let r = 0; r < R; r++) {
    const b = r * 6;
    g[0] = f32(bbox[b]! / wEst);
    g[1] = f32(bbox[b + 1]! / hEst);
    g[2] = f32(bbox[b + 2]! / wEst);
    g[3] = f32(bbox[b + 3]! / hEst);
    g[4] = Math.max(0, f32(f32(g[3]! - g[1]!) * f32(g[2]! - g[0]!))); // relative area, clamped at 0
    g[5] = bbox[b + 5]!; // detector confidence (column 4, the class index, is dropped)
    layerNorm(g, 0, 6, out, r * G);
    layerNorm(cls, r * K, K, out, r * G + 6);
  }
  return out;
}
