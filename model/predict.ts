/**
 * Turning logits into predictions: the argmax of each row (greedy decoding) and VLP's VQA answer rule
 * (argmax over logits[1:] + 1, so index 0, `<unk>`, is never predicted).
 *
 * @example Usage
 * ```ts
 * import { argmaxRows, vqaPredictions } from "@vlp/model";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...argmaxRows([0, 3, 1, 5, 2, 4], 3)], [1, 0]);
 * assert.deepEqual([...vqaPredictions([9, 1, 3], 3)], [2]);
 * ```
 *
 * @module
 */

/** Argmax of each row of [N, V] logits (greedy decoding helper). */
export function argmaxRows(logits: ArrayLike<number>, v: number): Int32Array {
  const N = logits.length / v;
  if (!Number.isInteger(N)) {
    throw new TypeError(`Cannot take argmax: ${logits.length} logits are not rows of ${v}`);
  }
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let best = 0, bv = logits[n * v];
    for (let j = 1; j < v; j++) {
      if (logits[n * v + j] > bv) {
        bv = logits[n * v + j];
        best = j;
      }
    }
    out[n] = best;
  }
  return out;
}

/** VQA answer per example: argmax over logits[1:] + 1 (index 0 is `<unk>`, never predicted). */
export function vqaPredictions(logits: ArrayLike<number>, numAnswers: number): Int32Array {
  const B = logits.length / numAnswers;
  const out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let best = 1;
    for (let a = 2; a < numAnswers; a++) {
      if (logits[b * numAnswers + a] > logits[b * numAnswers + best]) best = a;
    }
    out[b] = best;
  }
  return out;
}
