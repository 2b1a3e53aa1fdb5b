/**
 * LayerNorm over the last dimension (BERT / VLP, biased variance, eps inside the square root):
 *
 *   y[r,:] = (x[r,:] − μ_r) · rstd_r · w + b,     rstd_r = 1 / √(mean((x[r,:] − μ_r)²) + eps)
 *
 * Forward saves μ and rstd per row for the backward. Backward (llm.c's three terms):
 *
 *   x̂ = (x − μ)·rstd,  g = dy ⊙ w,  dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)),  dw += Σ_r dy ⊙ x̂,  db += Σ_r dy
 *
 * dx is written (or added when `accumulate`), dw and db are accumulated. One row at a time, float64 sums.
 *
 * @module
 */
import { asElement, type FloatArray } from "./types.ts";

/** y = LayerNorm(x) over rows of width `c`; writes mean and rstd per row ([rows]). */
export function layernormForward(
  x: FloatArray,
  w: FloatArray,
  b: FloatArray,
  y: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  c: number,
  eps: number,
): void {
  const rows = mean.length;
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    // mean
    let s = 0;
    for (let i = 0; i < c; i++) s += x[o + i];
    const mu = s / c;
    // variance (two-pass)
    let v = 0;
    for (let i = 0; i < c; i++) {
      const d = x[o + i] - mu;
      v += d * d;
    }
    const rs = 1 / Math.sqrt(v / c + eps);
    for (let i = 0; i < c; i++) y[o + i] = (x[o + i] - mu) * rs * w[i] + b[i];
    mean[r] = mu;
    rstd[r] = rs;
  }
}

/** Backward of {@linkcode layernormForward}: dx (written, or added with `accumulate`), dw += , db += . */
export function layernormBackward(
  dy: FloatArray,
  x: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  w: FloatArray,
  dx: FloatArray,
  dw: FloatArray,
  db: FloatArray,
  c: number,
  accumulate = false,
): void {
  const rows = mean.length;
  // dw, db are sums over every row: accumulated in float64, added once (float32 sums over the B·T rows
  // drifted from the float64 result by more than the original's own error)
  const dw64 = new Float64Array(c), db64 = new Float64Array(c);
  for (let r = 0; r < rows; r++) {
    const o = r * c, mu = mean[r], rs = rstd[r];
    // the two reductions
    let sg = 0, sgx = 0;
    for (let i = 0; i < c; i++) {
      const xh = (x[o + i] - mu) * rs;
      const g = dy[o + i] * w[i];
      sg += g;
      sgx += g * xh;
      dw64[i] += dy[o + i] * xh;
      db64[i] += dy[o + i];
    }
    sg /= c;
    sgx /= c;
    // dx
    for (let i = 0; i < c; i++) {
      const xh = (x[o + i] - mu) * rs;
      const v = rs * (dy[o + i] * w[i] - sg - xh * sgx);
      if (accumulate) dx[o + i] += v;
      else dx[o + i] = v;
    }
  }
  for (let i = 0; i < c; i++) {
    dw[i] += asElement(dw, dw64[i]);
    db[i] += asElement(db, db64[i]);
  }
}
