/**
 * VLP's training example pipeline (`seq2seq_loader.py: Preprocess4Seq2seq.__call__`, spec 3.1, 4.1, 4.2)
 * on token ids: one caption or question (its wordpiece ids, "tokens_b") becomes the model inputs of one
 * example.
 *
 * 1. tokens_b is cut to `maxLenB` wordpieces: from the tail with `alwaysTruncateTail`, otherwise each removed
 *    token comes from the front or the tail with probability 0.5 (`truncate_tokens_pair`).
 * 2. The sequence is `[CLS]`, R region placeholders `[UNK]`, `[SEP]`, tokens_b, `[SEP]`, zero-padded to
 *    L = R + maxLenB + 3. Segment ids: 4/5 (seq2seq) or 0/1 (bidirectional) with `newSegmentIds`, else 0/1;
 *    padding 0.
 * 3. n_pred = min(maxPred, max(1, round(len(tokens_b)·maskProb))) with Python's round half to even
 *    ({@linkcode roundHalfEven}); so with maxPred ≥ 1 at least one token is masked even when maskProb = 0
 *    (VQA's `--max_pred 1 --mask_prob 0`), and maxPred 0 masks nothing (SCST, VQA evaluation).
 * 4. Candidates are the positions ≥ R + 2 whose token is not `[CLS]`: every wordpiece of tokens_b and the
 *    final `[SEP]`. They are shuffled and the first n_pred are masked.
 * 5. Each masked position: with probability 0.8 `[MASK]`; else with probability 0.5 a uniformly drawn id of
 *    the whole vocabulary (special and unused tokens included); else unchanged. The original ids, positions
 *    and weights 1 are the targets, zero-padded to maxPred.
 * 6. The 0/1 attention mask [L, L] of the example's mode (`@vlp/model` masks, spec 2).
 *
 * Every random draw comes from the `Rng` passed in, in the original's order (truncation, shuffle,
 * replacement), so an example is a pure function of its tokens, mode and RNG state.
 *
 * Deliberate difference: the original truncates the stored token list in place, so a random front/back cut
 * sticks to the example from its first use on (per DataLoader worker process); here every use draws afresh.
 * With `--always_truncate_tail` (every README command) both are the same.
 *
 * @example Usage
 * ```ts
 * import { Rng } from "@vlp/model";
 * import { preprocess } from "@vlp/train";
 * import assert from "node:assert/strict";
 * const opts = { R: 3, maxLenB: 4, maxPred: 2, maskProb: 0.15, newSegmentIds: true,
 *   alwaysTruncateTail: true, vocabSize: 200, special: { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 } };
 * const ex = preprocess([7, 8, 9], "s2s", new Rng(1), opts);
 * assert.deepEqual([...ex.segmentIds], [4, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
 * assert.equal(ex.nPred, 1); // round(3 · 0.15) = round(0.45) = 0, at least 1
 * ```
 *
 * @module
 */
import {
  bidirectionalMask,
  PROMPT_SEGMENT,
  type Rng,
  seq2seqMask,
  type SpecialIds,
  TEXT_SEGMENT,
} from "@vlp/model";

/** The self-attention mode of an example (spec 2). */
export type MaskMode = "s2s" | "bi";

/** Settings of {@linkcode preprocess} (the original's flags in comments). */
export interface PipelineOptions {
  /** region slots (`--len_vis_input`, 100) */
  R: number;
  /** `--max_len_b` (20) */
  maxLenB: number;
  /** `--max_pred` (3; VQA 1; SCST and VQA evaluation 0) */
  maxPred: number;
  /** `--mask_prob` (0.15) */
  maskProb: number;
  /** `--new_segment_ids` */
  newSegmentIds: boolean;
  /** `--always_truncate_tail` */
  alwaysTruncateTail: boolean;
  /** V: random replacements are drawn from ids 0..V−1 */
  vocabSize: number;
  /** special-token ids (`SPECIAL_IDS` of `@vlp/model` for both BERT vocabularies) */
  special: SpecialIds;
}

/** One processed example (L = R + maxLenB + 3, P = maxPred). */
export interface Processed {
  /** [L] token ids after masking */
  inputIds: Int32Array;
  /** [L] */
  segmentIds: Int32Array;
  /** [L, L] 0/1, row = query */
  attentionMask: Uint8Array;
  /** [P] positions of the masked tokens (0-padded) */
  maskedPos: Int32Array;
  /** [P] their original ids (0-padded) */
  maskedIds: Int32Array;
  /** [P] 1 per real prediction */
  maskedWeights: Float32Array;
  /** masked tokens (≤ P) */
  nPred: number;
  /** len(tokens_b) after truncation */
  textLength: number;
  mode: MaskMode;
}

/** Python 3's `round(x)` for x ≥ 0: nearest integer, ties to even (round(2.5) = 2, round(3.5) = 4). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x), d = x - f; // exact for doubles
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** n_pred = min(maxPred, max(1, round(textLength · maskProb))), computed as Python computes it. */
export function numPredictions(textLength: number, maskProb: number, maxPred: number): number {
  return Math.min(maxPred, Math.max(1, roundHalfEven(textLength * maskProb)));
}

/** Sequence length of the options: R + maxLenB + 3. */
export function sequenceLength(o: PipelineOptions): number {
  return o.R + o.maxLenB + 3;
}

/** Cut tokens_b to `maxLen` (a copy): tail only, or front/back with probability 0.5 each per token. */
export function truncateText(
  tokens: ArrayLike<number>,
  maxLen: number,
  alwaysTail: boolean,
  rng: Rng,
): number[] {
  const t = Array.from(tokens);
  let start = 0, end = t.length;
  while (end - start > maxLen) {
    if (!alwaysTail && rng.float() < 0.5) start++;
    else end--;
  }
  return t.slice(start, end);
}

/** Process one example (see the module doc). */
export function preprocess(
  tokens: ArrayLike<number>,
  mode: MaskMode,
  rng: Rng,
  o: PipelineOptions,
): Processed {
  const { R, special: sp } = o;
  const L = sequenceLength(o), P = o.maxPred;
  const b = truncateText(tokens, o.maxLenB, o.alwaysTruncateTail, rng);
  const A = R + 2, n = b.length;
  const inputIds = new Int32Array(L), segmentIds = new Int32Array(L);
  // [CLS] [UNK]×R [SEP] tokens_b [SEP] [PAD]…
  inputIds[0] = sp.cls;
  inputIds.fill(sp.unk, 1, R + 1);
  inputIds[R + 1] = sp.sep;
  inputIds.set(b, A);
  inputIds[A + n] = sp.sep;
  const [s0, s1] = o.newSegmentIds && mode === "s2s" ? [PROMPT_SEGMENT, TEXT_SEGMENT] : [0, 1];
  segmentIds.fill(s0, 0, A);
  segmentIds.fill(s1, A, A + n + 1);
  // masked LM
  const nPred = P > 0 ? numPredictions(n, o.maskProb, P) : 0;
  const cand: number[] = [];
  for (let i = A; i <= A + n; i++) if (inputIds[i] !== sp.cls) cand.push(i);
  rng.shuffle(cand);
  const pos = cand.slice(0, nPred);
  const maskedPos = new Int32Array(P), maskedIds = new Int32Array(P), maskedWeights = new Float32Array(P);
  for (let k = 0; k < pos.length; k++) {
    maskedPos[k] = pos[k];
    maskedIds[k] = inputIds[pos[k]];
    maskedWeights[k] = 1;
  }
  for (const p of pos) {
    if (rng.float() < 0.8) inputIds[p] = sp.mask;
    else if (rng.float() < 0.5) inputIds[p] = rng.int(o.vocabSize);
  }
  const dims = { L, R, textLength: n + 1 };
  const attentionMask = mode === "s2s" ? seq2seqMask(dims) : bidirectionalMask(dims);
  return {
    inputIds,
    segmentIds,
    attentionMask,
    maskedPos,
    maskedIds,
    maskedWeights,
    nPred: pos.length,
    textLength: n,
    mode,
  };
}
