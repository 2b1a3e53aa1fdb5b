/**
 * VLP's 0/1 self-attention masks (spec §2), row = query, column = key, for a sequence of length L with
 * A = R + 2 leading positions ([CLS], R regions, [SEP]):
 *
 * - seq2seq: every row sees columns 0..A−1; text rows s..e−1 (s = A, e = A + text length incl. the final
 *   [SEP]) also see text columns s..row (lower triangular); everything else 0.
 * - bidirectional: every row sees the columns of real tokens 0..e−1.
 * - decoder-time (decoding, L = A + T): every row sees 0..A−1, and generation rows see generation columns up
 *   to themselves.
 *
 * @example Usage
 * ```ts
 * import { seq2seqMask } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const m = seq2seqMask({ L: 6, R: 1, textLength: 2 }); // [CLS] r [SEP] w1 [SEP] pad
 * assert.deepEqual([...m.subarray(3 * 6, 4 * 6)], [1, 1, 1, 1, 0, 0]);
 * ```
 *
 * @module
 */

/** Sizes of a mask: sequence length L, regions R, and the text length (wordpieces + final [SEP]). */
export interface MaskDims {
  /** sequence length */
  L: number;
  /** regions */
  R: number;
  /** wordpieces + the final [SEP] */
  textLength: number;
}

function check({ L, R, textLength }: MaskDims): number {
  const A = R + 2;
  if (!(textLength >= 0 && A + textLength <= L)) {
    throw new RangeError(`Cannot build mask: R + 2 + textLength = ${A + textLength} exceeds L = ${L}`);
  }
  return A;
}

/** The seq2seq ("s2s") mask [L, L] of one example. */
export function seq2seqMask(d: MaskDims): Uint8Array {
  const A = check(d), { L } = d, e = A + d.textLength;
  const m = new Uint8Array(L * L);
  for (let i = 0; i < L; i++) {
    m.fill(1, i * L, i * L + A);
    if (i >= A && i < e) m.fill(1, i * L + A, i * L + i + 1);
  }
  return m;
}

/** The bidirectional mask [L, L] of one example. */
export function bidirectionalMask(d: MaskDims): Uint8Array {
  const A = check(d), { L } = d, e = A + d.textLength;
  const m = new Uint8Array(L * L);
  for (let i = 0; i < L; i++) m.fill(1, i * L, i * L + e);
  return m;
}

/** The decoder-time mask [L, L] for L = R + 2 + T generation positions. */
export function decoderMask(L: number, R: number): Uint8Array {
  const A = R + 2;
  if (A > L) throw new RangeError(`Cannot build decoder mask: R + 2 = ${A} exceeds L = ${L}`);
  const m = new Uint8Array(L * L);
  for (let i = 0; i < L; i++) {
    m.fill(1, i * L, i * L + A);
    if (i >= A) m.fill(1, i * L + A, i * L + i + 1);
  }
  return m;
}
