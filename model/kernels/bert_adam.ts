/**
 * BertAdam's update of one parameter tensor (pytorch_pretrained_bert `BertAdam.step`, spec 8.1), in place:
 *
 *   ‖g‖ = √Σ g²;  c = maxGradNorm / (‖g‖ + 1e-6);  g′ = c < 1 ? c·g : g     (per-tensor clip, skipped when
 *                                                                           maxGradNorm ≤ 0)
 *   m ← b1·m + (1 − b1)·g′;  v ← b2·v + (1 − b2)·g′²
 *   update = m / (√v + eps) + wd·p;   p ← p − lr·update                    (no bias correction)
 *
 * The clip is `torch.nn.utils.clip_grad_norm_(p, maxGradNorm)` on this tensor alone (not a global norm),
 * with PyTorch's 1e-6 added to the norm. Unlike PyTorch, the gradient tensor itself is left unchanged
 * (the caller zeroes gradients after a step anyway). The norm is summed in float64; the update is computed
 * in float64 and stored in the arrays' type.
 *
 * @module
 */
import type { FloatArray } from "./types.ts";

/** Hyper-parameters of one {@linkcode bertAdamUpdate} call. */
export interface BertAdamHyper {
  /** learning rate of this step (after the schedule) */
  lr: number;
  /** decoupled weight decay of this tensor's group (0.01, or 0 for biases and LayerNorm) */
  weightDecay: number;
  /** default 0.9 */
  beta1?: number;
  /** default 0.999 */
  beta2?: number;
  /** default 1e-6 */
  eps?: number;
  /** per-tensor gradient clip to this L2 norm; ≤ 0 disables it (default 1.0) */
  maxGradNorm?: number;
}

/** Hyper-parameters with defaults filled in (throws RangeError on invalid values). */
export function bertAdamDefaults(h: BertAdamHyper): Required<BertAdamHyper> {
  const r = { beta1: 0.9, beta2: 0.999, eps: 1e-6, maxGradNorm: 1.0, ...h };
  for (const [k, v] of Object.entries(r)) {
    if (!Number.isFinite(v)) throw new RangeError(`Cannot run BertAdam: ${k} = ${v} is not a finite number`);
  }
  if (!(r.beta1 >= 0 && r.beta1 < 1 && r.beta2 >= 0 && r.beta2 < 1)) {
    throw new RangeError(`Cannot run BertAdam: betas (${r.beta1}, ${r.beta2}) must lie in [0, 1)`);
  }
  return r;
}

/** The clip factor of a gradient with L2 norm `norm` (1 when no clip applies). */
export function clipFactor(norm: number, maxGradNorm: number): number {
  if (!(maxGradNorm > 0)) return 1;
  const c = maxGradNorm / (norm + 1e-6);
  return c < 1 ? c : 1;
}

/** One BertAdam step on p, m, v (read-write) from the gradient g (read), all of the same length. */
export function bertAdamUpdate(
  p: FloatArray,
  g: FloatArray,
  m: FloatArray,
  v: FloatArray,
  hyper: BertAdamHyper,
): void {
  const { lr, weightDecay: wd, beta1: b1, beta2: b2, eps, maxGradNorm } = bertAdamDefaults(hyper);
  const n = p.length;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += g[i] * g[i];
  const c = clipFactor(Math.sqrt(ss), maxGradNorm);
  for (let i = 0; i < n; i++) {
    const gi = g[i] * c;
    const mi = b1 * m[i] + (1 - b1) * gi;
    const vi = b2 * v[i] + (1 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * (mi / (Math.sqrt(vi) + eps) + wd * p[i]);
  }
}
