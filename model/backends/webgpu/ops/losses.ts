/**
 * Losses on the WebGPU backend: cross entropy (plain or VLP's label smoothing) and its backward, one
 * workgroup per row; the masked-LM reduction with drop-worst, one workgroup; BCE-with-logits as a two-stage
 * sum and an element-wise backward. Label-smoothing constants are computed on the host in float64.
 *
 * @module
 */
import {
  type Args,
  crossEntropyBackwardDims,
  crossEntropyDims,
  sameSize,
} from "../../../backend_contract.ts";
import { type Dispatcher, range } from "../dispatch.ts";
import { gpuTensor } from "../runtime.ts";
import { CROSS_ENTROPY } from "../kernels/cross_entropy.ts";
import { CROSS_ENTROPY_BACKWARD } from "../kernels/cross_entropy_backward.ts";
import { MASKED_LOSS_REDUCE } from "../kernels/masked_loss_reduce.ts";
import { BCE_PARTIAL } from "../kernels/bce_partial.ts";
import { BCE_BACKWARD } from "../kernels/bce_backward.ts";
import { REDUCE_PARTIALS } from "../kernels/reduce_partials.ts";

/** Label-smoothing constants (float64 on the host): qt, qo, Σ q log q. */
function smoothingConstants(eps: number, v: number): { qt: number; qo: number; qlogq: number } {
  const qt = 1 - eps, qo = eps / (v - 2);
  const qlogq = (qt > 0 ? qt * Math.log(qt) : 0) + (qo > 0 ? (v - 2) * qo * Math.log(qo) : 0);
  return { qt, qo, qlogq };
}

/** losses[n] = CE(logits[n, :], targets[n]), label-smoothed when smoothing > 0. */
export function crossEntropy(
  d: Dispatcher,
  { logits, targets, losses, smoothing = 0 }: Args<"crossEntropy">,
): void {
  const { rows, v } = crossEntropyDims({ logits, targets, losses });
  const sm = smoothing > 0 ? smoothingConstants(smoothing, v) : { qt: 1, qo: 0, qlogq: 0 };
  const [xs, ts, ls] = [logits, targets, losses].map((t) => gpuTensor(t));
  for (const [r0, r1] of d.rowParts("crossEntropy", rows, v)) {
    d.rt.dispatch(
      CROSS_ENTROPY,
      { logits: range(xs, r0 * v, r1 * v), targets: range(ts, r0, r1), losses: range(ls, r0, r1) },
      { rows: r1 - r0, v, smoothing: smoothing > 0 ? 1 : 0, ...sm },
      r1 - r0,
      "target",
    );
  }
}

/** dlogits[n, :] = dlosses[n]·(softmax − q). */
export function crossEntropyBackward(
  d: Dispatcher,
  { logits, targets, dlosses, dlogits, smoothing = 0 }: Args<"crossEntropyBackward">,
): void {
  const { rows, v } = crossEntropyBackwardDims({ logits, targets, dlosses, dlogits });
  const { qt, qo } = smoothing > 0 ? smoothingConstants(smoothing, v) : { qt: 1, qo: 0 };
  const [xs, ts, gs, dxs] = [logits, targets, dlosses, dlogits].map((t) => gpuTensor(t));
  for (const [r0, r1] of d.rowParts("crossEntropyBackward", rows, v)) {
    d.rt.dispatch(
      CROSS_ENTROPY_BACKWARD,
      {
        logits: range(xs, r0 * v, r1 * v),
        targets: range(ts, r0, r1),
        dlosses: range(gs, r0, r1),
        dlogits: range(dxs, r0 * v, r1 * v),
      },
      { rows: r1 - r0, v, smoothing: smoothing > 0 ? 1 : 0, qt, qo },
      r1 - r0,
    );
  }
}

/** The masked-LM reduction with drop-worst (one workgroup; ranks for the kept examples). */
export function maskedLossReduce(
  d: Dispatcher,
  { losses, weights, out, coef, dropWorstRatio, scale = 1, normalizer }: Args<"maskedLossReduce">,
): void {
  sameSize("maskedLossReduce", losses, weights, coef);
  const b = losses.shape[0], p = losses.size / b;
  const scratch = d.rt.scratch(3 * b);
  d.rt.dispatch(
    MASKED_LOSS_REDUCE,
    {
      losses: gpuTensor(losses),
      weights: gpuTensor(weights),
      out: gpuTensor(out),
      coef: gpuTensor(coef),
      scratch,
    },
    {
      b,
      p,
      keep: Math.floor(b * (1 - dropWorstRatio)),
      scale,
      has_normalizer: normalizer === undefined ? 0 : 1,
      normalizer: normalizer ?? 0,
    },
    1,
  );
  d.rt.free(scratch);
}

/** out [1] = Σ BCE-with-logits / B: partial sums, then one workgroup adds them in order. */
export function bceWithLogits(d: Dispatcher, { logits, targets, out }: Args<"bceWithLogits">): void {
  const n = sameSize("bceWithLogits", logits, targets);
  const b = logits.shape[0];
  const [xs, ys] = [logits, targets].map((t) => gpuTensor(t));
  const parts = d.partialSums(BCE_PARTIAL, { logits: xs, targets: ys }, n);
  d.rt.dispatch(REDUCE_PARTIALS, { partial: parts.partial, out: gpuTensor(out) }, {
    groups: parts.count,
    scale: 1 / b,
  }, 1);
  d.rt.free(parts.partial);
}

/** dlogits = scale·(σ(logits) − targets)/B. */
export function bceWithLogitsBackward(
  d: Dispatcher,
  { logits, targets, dlogits, scale = 1 }: Args<"bceWithLogitsBackward">,
): void {
  const n = sameSize("bceWithLogitsBackward", logits, targets, dlogits);
  const g = scale / logits.shape[0];
  d.elementwise(
    BCE_BACKWARD,
    { logits: gpuTensor(logits), targets: gpuTensor(targets), dlogits: gpuTensor(dlogits) },
    n,
    () => ({ g }),
  );
}
