/**
 * Duplicate n-gram blocking of VLP's beam search (`--forbid_duplicate_ngrams`, `--ngram_size`,
 * `--forbid_ignore_word`; spec §5.3).
 *
 * After each step, for each beam's sequence `seq` of length ≥ n: with `tail` = its last n − 1 tokens, every
 * token w such that (tail, w) already occurs as an n-gram in `seq` is banned at the next step — unless a
 * token of `tail` is in the ignore set (then nothing is banned for that beam), and words in the ignore set
 * are never banned. The original's slicing `seq[-(n-1):]` makes the tail the WHOLE sequence when n = 1; that
 * quirk is kept (it only changes which sequences the ignore set exempts).
 *
 * @example Usage
 * ```ts
 * import { duplicateNgramCandidates } from "@vlp/decode";
 * import assert from "node:assert/strict";
 * // "a b c a b" with n = 3: the tail (a, b) was followed by c, so c is banned next
 * assert.deepEqual(duplicateNgramCandidates([1, 2, 3, 1, 2], 3), [3]);
 * ```
 *
 * @module
 */

/** Words banned after `seq` (sorted ascending, no repeats); see the module doc. */
export function duplicateNgramCandidates(
  seq: readonly number[],
  n: number,
  ignore?: ReadonlySet<number>,
): number[] {
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`Cannot block n-grams: n must be ≥ 1, got ${n}`);
  if (seq.length < n) return [];
  const tailStart = n === 1 ? 0 : seq.length - (n - 1); // Python: seq[-0:] is the whole list
  const ignoring = ignore !== undefined && ignore.size > 0;
  if (ignoring) {
    for (let i = tailStart; i < seq.length; i++) if (ignore.has(seq[i])) return [];
  }
  const cands = new Set<number>();
  for (let i = 0; i + n - 1 < seq.length; i++) {
    let match = true;
    for (let j = 0; j < n - 1; j++) {
      if (seq[tailStart + j] !== seq[i + j]) {
        match = false;
        break;
      }
    }
    const w = seq[i + n - 1];
    if (match && !(ignoring && ignore.has(w))) cands.add(w);
  }
  return [...cands].sort((a, b) => a - b);
}
