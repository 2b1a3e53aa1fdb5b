/**
 * Loss kernels of VLP's objectives.
 *
 * - Cross entropy per row of logits [N, V] against target ids [N] (`nn.CrossEntropyLoss(reduction='none')`),
 *   or with label smoothing ε (VLP's `LabelSmoothingLoss` on log_softmax): KL(q‖p) with q = 1 − ε on the
 *   target, ε/(V − 2) on every other id except id 0, which gets 0; a row whose target is 0 has q = 0 and loss
 *   0. Backward: dlogits = dloss·(p·Σq − q).
 * - Masked-LM reduction (`loss_mask_and_normalize`): per example sₑ = Σₚ loss·w; keep the
 *   k = ⌊B·(1 − ratio)⌋ examples with the smallest sₑ (ties: lower index first); loss = Σ_kept sₑ / (Σ_kept w
 *   + 1e-5). It also writes the backward coefficients dloss/dlossₑₚ = w/denominator (0 for dropped examples).
 * - VQA: `BCEWithLogitsLoss` (mean over B×A) × A = Σ over all elements / B; gradient (σ(x) − y)/B.
 *
 * @module
 */
import type { FloatArray } from "./types.ts";

function smoothingConstants(eps: number, v: number): { qt: number; qo: number; qlogq: number } {
  const qt = 1 - eps, qo = eps / (v - 2);
  // Σ q log q over the support: target + (V − 2) other non-zero ids
  const qlogq = (qt > 0 ? qt * Math.log(qt) : 0) + (qo > 0 ? (v - 2) * qo * Math.log(qo) : 0);
  return { qt, qo, qlogq };
}

/** max and Σ exp(x − max) of row [o, o + v) (float64 sums). */
function rowMaxSumExp(logits: FloatArray, o: number, v: number): { max: number; sum: number } {
  let max = -Infinity;
  for (let j = 0; j < v; j++) if (logits[o + j] > max) max = logits[o + j];
  let sum = 0;
  for (let j = 0; j < v; j++) sum += Math.exp(logits[o + j] - max);
  return { max, sum };
}

/** losses[n] = cross entropy of row n (optionally label-smoothed, module doc). */
export function crossEntropyForward(
  logits: FloatArray,
  targets: Int32Array,
  losses: FloatArray,
  v: number,
  smoothing = 0,
): void {
  const N = targets.length;
  const sm = smoothing > 0 ? smoothingConstants(smoothing, v) : null;
  for (let n = 0; n < N; n++) {
    const o = n * v, t = targets[n];
    if (!(t >= 0 && t < v)) {
      throw new RangeError(`Cannot compute cross entropy: target ${t} at [${n}] is outside [0, ${v})`);
    }
    const { max, sum } = rowMaxSumExp(logits, o, v);
    const lse = max + Math.log(sum);
    const logpT = logits[o + t] - lse;
    if (!sm) {
      losses[n] = -logpT;
    } else if (t === 0) {
      losses[n] = 0;
    } else {
      let sumLogit = 0;
      for (let j = 0; j < v; j++) sumLogit += logits[o + j];
      // Σ_{v≠0,t} logp_v = (Σ logits − V·lse) − logp_0 − logp_t
      const logp0 = logits[o] - lse;
      const others = sumLogit - v * lse - logp0 - logpT;
      losses[n] = sm.qlogq - (sm.qt * logpT + sm.qo * others);
    }
  }
}

/** dlogits[n,:] = dlosses[n]·(softmax(logits[n,:])·Σq − q) (written). */
export function crossEntropyBackward(
  logits: FloatArray,
  targets: Int32Array,
  dlosses: FloatArray,
  dlogits: FloatArray,
  v: number,
  smoothing = 0,
): void {
  const N = targets.length;
  const sm = smoothing > 0 ? smoothingConstants(smoothing, v) : null;
  for (let n = 0; n < N; n++) {
    const o = n * v, t = targets[n], g = dlosses[n];
    if (g === 0 || (sm && t === 0)) {
      dlogits.fill(0, o, o + v);
      continue;
    }
    const { max, sum } = rowMaxSumExp(logits, o, v);
    const inv = 1 / sum;
    if (!sm) {
      for (let j = 0; j < v; j++) dlogits[o + j] = g * Math.exp(logits[o + j] - max) * inv;
      dlogits[o + t] -= g;
    } else {
      for (let j = 0; j < v; j++) dlogits[o + j] = g * (Math.exp(logits[o + j] - max) * inv - sm.qo);
      dlogits[o] += g * sm.qo; // q_0 = 0
      dlogits[o + t] += g * (sm.qo - sm.qt);
    }
  }
}

/**
 * Masked-LM reduction with drop-worst (module doc). losses and weights are [B, P]; returns the loss and
 * writes coef [B, P] = scale·w/denominator for kept examples, 0 for dropped ones. `normalizer`, when given,
 * replaces the denominator Σ_kept w + 1e-5 (e.g. Σ mask for a reward-weighted sequence loss, where the
 * weights may be negative).
 */
export function maskedLossReduce(
  losses: FloatArray,
  weights: FloatArray,
  coef: FloatArray,
  b: number,
  dropWorstRatio: number,
  scale = 1,
  normalizer?: number,
): number {
  const P = losses.length / b;
  const sums = new Float64Array(b), wsum = new Float64Array(b);
  for (let e = 0; e < b; e++) {
    for (let p = 0; p < P; p++) {
      sums[e] += losses[e * P + p] * weights[e * P + p];
      wsum[e] += weights[e * P + p];
    }
  }
  const k = Math.floor(b * (1 - dropWorstRatio));
  const order = Array.from({ length: b }, (_, i) => i).sort((x, y) => sums[x] - sums[y] || x - y);
  const keep = new Uint8Array(b);
  let denom = 1e-5;
  for (let i = 0; i < k; i++) {
    keep[order[i]] = 1;
    denom += wsum[order[i]];
  }
  if (normalizer !== undefined) denom = normalizer;
  let loss = 0;
  for (let e = 0; e < b; e++) {
    if (keep[e]) loss += sums[e] / denom;
    for (let p = 0; p < P; p++) coef[e * P + p] = keep[e] ? (scale * weights[e * P + p]) / denom : 0;
  }
  return loss;
}

/** Σ over [B, A] of BCE-with-logits, divided by B. */
export function bceForward(x: FloatArray, y: FloatArray, b: number): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    s += (v > 0 ? v : 0) - v * y[i] + Math.log1p(Math.exp(-Math.abs(v)));
  }
  return s / b;
}

/** dx = scale·(σ(x) − y)/B (written). */
export function bceBackward(x: FloatArray, y: FloatArray, dx: FloatArray, b: number, scale = 1): void {
  const g = scale / b;
  for (let i = 0; i < x.length; i++) dx[i] = g * (1 / (1 + Math.exp(-x[i])) - y[i]);
}
