/**
 * Element-wise activations and their backward passes:
 *
 * - GELU, exact erf form (VLP's `gelu`): y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)); dx = dy·(Φ(x) + x·φ(x)).
 *   On float32 storage erf comes from Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7, the float32 rounding
 *   level near 1), written as erfc(|x|/√2) = poly(t)·e^(−x²/2) so that one exp serves Φ and φ; on float64
 *   storage from a series without cancellation (relative error ~1e-15), so that finite-difference checks of
 *   the backward are exact to float64 precision.
 * - ReLU: y = max(x, 0); backward from the output: dx = dy·[y > 0].
 * - tanh: y = tanh(x); backward from the output: dx = dy·(1 − y²).
 *
 * Outputs are written; backward results are written (=).
 *
 * @module
 */
import type { FloatArray } from "./types.ts";
import { expFast } from "./fastmath.ts";

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf to ~1.5e-7 absolute (Abramowitz & Stegun 7.1.26). */
export function erfFast(x: number): number {
  const ax = x < 0 ? -x : x;
  const t = 1 / (1 + 0.3275911 * ax);
  const poly = t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const r = 1 - poly * Math.exp(-ax * ax);
  return x < 0 ? -r : r;
}

/**
 * erf to float64 precision: erf(x) = 2/√π·e^(−x²)·Σₙ 2ⁿx^(2n+1)/(1·3···(2n+1)) (all terms positive);
 * ±1 beyond |x| = 6 (erfc(6) ≈ 2e-17).
 */
export function erfPrecise(x: number): number {
  const ax = x < 0 ? -x : x;
  if (ax >= 6) return x < 0 ? -1 : 1;
  const x2 = ax * ax;
  let term = ax, sum = ax;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  const r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  return x < 0 ? -r : r;
}

/** y = gelu(x) over `n` elements. */
export function geluForward(x: FloatArray, y: FloatArray, n = x.length): void {
  if (x instanceof Float32Array && y instanceof Float32Array) return geluForward32(x, y, n);
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + erfPrecise(v * SQRT1_2));
  }
}

/** y = gelu(x) and g = gelu'(x) over `n` elements (the derivative saved for a cheap backward: dx = dy·g). */
export function geluForwardWithGrad(x: FloatArray, y: FloatArray, g: FloatArray, n = x.length): void {
  if (x instanceof Float32Array && y instanceof Float32Array && g instanceof Float32Array) {
    return geluWithGrad32(x, y, g, n);
  }
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const cdf = 0.5 * (1 + erfPrecise(v * SQRT1_2));
    y[i] = v * cdf;
    g[i] = cdf + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v);
  }
}

/** dx = dy · gelu'(x) over `n` elements. */
export function geluBackward(x: FloatArray, dy: FloatArray, dx: FloatArray, n = x.length): void {
  if (x instanceof Float32Array && dy instanceof Float32Array && dx instanceof Float32Array) {
    return geluBackward32(x, dy, dx, n);
  }
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const cdf = 0.5 * (1 + erfPrecise(v * SQRT1_2));
    const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
}

// A&S 7.1.26: erfc(a) ≈ poly(a)·e^(−a²), poly(a) = t·(a1 + t·(a2 + …)), t = 1/(1 + p·a), a ≥ 0
const P = 0.3275911,
  A1 = 0.254829592,
  A2 = -0.284496736,
  A3 = 1.421413741,
  A4 = -1.453152027,
  A5 = 1.061405429;

function erfcPoly(a: number): number {
  const t = 1 / (1 + P * a);
  return t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))));
}

// Φ(v) from q = erfc(|v|/√2) without cancellation on either side
function cdfFromErfc(v: number, q: number): number {
  return v < 0 ? 0.5 * q : 1 - 0.5 * q;
}

function geluForward32(x: Float32Array, y: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i], a = (v < 0 ? -v : v) * SQRT1_2;
    y[i] = v * cdfFromErfc(v, erfcPoly(a) * expFast(-a * a));
  }
}

function geluWithGrad32(x: Float32Array, y: Float32Array, g: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i], a = (v < 0 ? -v : v) * SQRT1_2;
    const e = expFast(-a * a); // e^(−v²/2)
    const cdf = cdfFromErfc(v, erfcPoly(a) * e);
    y[i] = v * cdf;
    g[i] = cdf + v * INV_SQRT_2PI * e;
  }
}

function geluBackward32(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i], a = (v < 0 ? -v : v) * SQRT1_2;
    const e = expFast(-a * a);
    dx[i] = dy[i] * (cdfFromErfc(v, erfcPoly(a) * e) + v * INV_SQRT_2PI * e);
  }
}

/** y = max(x, 0). */
export function reluForward(x: FloatArray, y: FloatArray, n = x.length): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = v > 0 ? v : 0;
  }
}

/** dx = dy·[y > 0] (from the ReLU output y). */
export function reluBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, n = y.length): void {
  for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

/** y = tanh(x). */
export function tanhForward(x: FloatArray, y: FloatArray, n = x.length): void {
  for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
}

/** dx = dy·(1 − y²) (from the tanh output y). */
export function tanhBackward(y: FloatArray, dy: FloatArray, dx: FloatArray, n = y.length): void {
  for (let i = 0; i < n; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
}
