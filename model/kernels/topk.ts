/**
 * Top-k of each row (decoding: greedy is k = 1, beam search the top W words), for x [N, V]:
 *
 *   values[n, 0..k−1], indices[n, 0..k−1] = the k largest x[n, :] in descending order
 *
 * ties go to the lower index; NaN never enters (as `topK` of @vlp/decode); slots a row cannot fill (fewer
 * than k numbers) get index −1 and value −Infinity. With k = 1 on a row without NaN this is the argmax of
 * greedy decoding, its value the row's max exactly. With `stats` [N, 2]: the row's max and
 * Σ exp(x − max) over its numbers (float64 here; beam search's log-softmax of the picked words from them).
 *
 * @module
 */
import type { FloatArray } from "./types.ts";

/** Whether (v, i) comes before (w, j): larger value, then lower index. */
function before(v: number, i: number, w: number, j: number): boolean {
  return v > w || (v === w && i < j);
}

/** values/indices [rows, k] of x [rows, V] (see the module doc). */
export function topkRows(
  x: FloatArray,
  values: FloatArray,
  indices: Int32Array,
  rows: number,
  V: number,
  k: number,
  stats: FloatArray | null = null,
): void {
  for (let n = 0; n < rows; n++) {
    const o = n * V;
    if (stats) {
      let max = -Infinity, sum = 0;
      for (let j = 0; j < V; j++) if (x[o + j] > max) max = x[o + j];
      for (let j = 0; j < V; j++) if (x[o + j] === x[o + j]) sum += Math.exp(x[o + j] - max);
      stats[2 * n] = max;
      stats[2 * n + 1] = sum;
    }
    // k rounds, each the first element after the previous one in the (value desc, index asc) order
    let pv = Infinity, pi = -1;
    for (let r = 0; r < k; r++) {
      let bv = -Infinity, bi = -1;
      for (let j = 0; j < V; j++) {
        const v = x[o + j];
        if (!(v === v)) continue;
        if (r > 0 && !before(pv, pi, v, j)) continue;
        if (bi < 0 || before(v, j, bv, bi)) {
          bv = v;
          bi = j;
        }
      }
      values[n * k + r] = bv;
      indices[n * k + r] = bi;
      pv = bv;
      pi = bi;
      if (bi < 0) pv = -Infinity;
    }
  }
}
