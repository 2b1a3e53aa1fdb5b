/**
 * Row operations on [N, V] logits that the searches share: log-softmax in float32 as PyTorch returns it,
 * top-k with a fixed tie order, argmax, and a multinomial draw.
 *
 * Ties: where PyTorch's `topk` leaves the order of equal values to its partial sort, the lower index comes
 * first here (the same rule as Python's stable `sorted` and as `torch.max` for argmax).
 *
 * @module
 */
import type { Rng } from "@vlp/model";

/** Logits or scores as a backend returns them. */
export type FloatRows = Float32Array | Float64Array;

/**
 * out[j] = float32(x[j] − max − log Σ exp(x − max)) for row `row` of [N, V] `x` (PyTorch's `log_softmax`;
 * the sum is taken in float64).
 */
export function logSoftmaxRow(x: ArrayLike<number>, row: number, V: number, out: Float32Array): Float32Array {
  const o = row * V, { max, logSum } = logSumExpRow(x, row, V);
  for (let j = 0; j < V; j++) out[j] = x[o + j] - max - logSum;
  return out;
}

/** max and log Σ exp(x − max) of row `row` of [N, V] `x` (float64). */
export function logSumExpRow(x: ArrayLike<number>, row: number, V: number): { max: number; logSum: number } {
  const o = row * V;
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (x[o + j] > max) max = x[o + j];
  let sum = 0;
  for (let j = 0; j < V; j++) sum += Math.exp(x[o + j] - max);
  return { max, logSum: Math.log(sum) };
}

/**
 * The k largest values of `x[offset .. offset + n)`, largest first, ties broken by the lower index. Writes
 * their positions (relative to `offset`) to `idx` and values to `val` (both from index 0); returns how many
 * were found (fewer than k only when n < k or values are NaN).
 */
export function topK(
  x: ArrayLike<number>,
  offset: number,
  n: number,
  k: number,
  idx: Int32Array,
  val: Float64Array | Float32Array,
): number {
  let filled = 0;
  for (let i = 0; i < n; i++) {
    const v = x[offset + i];
    if (!(v === v)) continue; // NaN never enters
    if (filled === k && !(v > val[k - 1])) continue;
    // insert after every value ≥ v (earlier indices win ties)
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && v > val[j - 1]) {
      val[j] = val[j - 1];
      idx[j] = idx[j - 1];
      j--;
    }
    val[j] = v;
    idx[j] = i;
  }
  return filled;
}

/** Index of the largest value of row `row` of [N, V] `x` (first index on ties, as `torch.max`). */
export function argmaxRow(x: ArrayLike<number>, row: number, V: number): number {
  const o = row * V;
  let best = 0, bv = x[o];
  for (let j = 1; j < V; j++) {
    if (x[o + j] > bv) {
      bv = x[o + j];
      best = j;
    }
  }
  return best;
}

/**
 * A draw from softmax(row `row` of [N, V] `x`) with one `rng.float()` (inverse CDF over the unnormalised
 * exp(x − max), accumulated in float64). Zero-probability entries are never drawn. `lse`: the row's
 * {@linkcode logSumExpRow} when already known.
 */
export function sampleRow(
  x: ArrayLike<number>,
  row: number,
  V: number,
  rng: Rng,
  lse: { max: number; logSum: number } = logSumExpRow(x, row, V),
): number {
  const o = row * V, max = lse.max;
  const u = rng.float() * Math.exp(lse.logSum);
  let acc = 0, last = -1;
  for (let j = 0; j < V; j++) {
    const p = Math.exp(x[o + j] - max);
    if (p === 0) continue;
    acc += p;
    last = j;
    if (u < acc) return j;
  }
  return last; // rounding left u at the very end: the last drawable index
}

/** log softmax(x)[j] of row `row`, in float32 (as PyTorch's `log_softmax` followed by a gather). */
export function logProbAt(x: ArrayLike<number>, row: number, V: number, j: number): number {
  const { max, logSum } = logSumExpRow(x, row, V);
  return Math.fround(x[row * V + j] - max - logSum);
}
