/**
 * VLP's decoding input layout (`Preprocess4Seq2seqDecoder`, spec §5.1, §2):
 *
 * - input ids [B, A], A = R + 2: `[CLS]`, R × `[UNK]` (region slots), `[SEP]`;
 * - segment ids [B, L], L = A + T (T = max_tgt_length, VLP: 20): 4 for the A prompt positions, 5 after;
 * - position ids [B, L]: 0..L−1;
 * - attention mask [B, L, L] 0/1 (row = query): every row sees the prompt, generation rows see generation
 *   positions up to themselves.
 *
 * Each step appends one `[MASK]` and reads its prediction (`@vlp/model`'s `IncrementalDecoder`).
 *
 * @example Usage
 * ```ts
 * import { decodeLayout } from "@vlp/decode";
 * import assert from "node:assert/strict";
 * const lay = decodeLayout({ images: 1, regions: 2, maxTgtLength: 3 }); // A = 4, L = 7
 * assert.deepEqual([...lay.inputIds], [101, 100, 100, 102]);
 * assert.deepEqual([...lay.segmentIds], [4, 4, 4, 4, 5, 5, 5]);
 * ```
 *
 * @module
 */
import {
  decoderMask,
  LEN_VIS_INPUT,
  MAX_TGT_LENGTH,
  PROMPT_SEGMENT,
  SPECIAL_IDS,
  type SpecialIds,
  TEXT_SEGMENT,
} from "@vlp/model";

// VLP's special-token ids and segment ids live with the other defaults of the original in @vlp/model
// (model/defaults.ts); decoding re-exports them.
export { PROMPT_SEGMENT, SPECIAL_IDS, type SpecialIds, TEXT_SEGMENT } from "@vlp/model";

/** Sizes of {@linkcode decodeLayout}. */
export interface LayoutOptions {
  /** B */
  images: number;
  /** R (VLP: 100) */
  regions?: number;
  /** T (VLP: `--max_tgt_length` 20) */
  maxTgtLength?: number;
  /** default {@linkcode SPECIAL_IDS} */
  ids?: Partial<SpecialIds>;
}

/** The decoding inputs of B images (see the module doc). */
export interface DecodeLayout {
  /** A = R + 2 */
  promptLength: number;
  /** L = A + T */
  length: number;
  /** [B, A] */
  inputIds: Int32Array;
  /** [B, L] */
  segmentIds: Int32Array;
  /** [B, L] */
  positionIds: Int32Array;
  /** [B, L, L] 0/1 */
  attentionMask: Uint8Array;
}

/** Build VLP's decoding layout for B images. */
export function decodeLayout(opts: LayoutOptions): DecodeLayout {
  const B = opts.images, R = opts.regions ?? LEN_VIS_INPUT, T = opts.maxTgtLength ?? MAX_TGT_LENGTH;
  for (const [k, v, min] of [["images", B, 1], ["regions", R, 1], ["maxTgtLength", T, 1]] as const) {
    if (!(Number.isInteger(v) && v >= min)) {
      throw new RangeError(`Cannot build the decoding layout: ${k} must be an integer ≥ ${min}, got ${v}`);
    }
  }
  const ids = { ...SPECIAL_IDS, ...opts.ids };
  const A = R + 2, L = A + T;
  const inputIds = new Int32Array(B * A),
    segmentIds = new Int32Array(B * L),
    positionIds = new Int32Array(B * L);
  const one = decoderMask(L, R);
  const attentionMask = new Uint8Array(B * L * L);
  for (let b = 0; b < B; b++) {
    inputIds.fill(ids.unk, b * A, (b + 1) * A);
    inputIds[b * A] = ids.cls;
    inputIds[b * A + A - 1] = ids.sep;
    segmentIds.fill(PROMPT_SEGMENT, b * L, b * L + A);
    segmentIds.fill(TEXT_SEGMENT, b * L + A, (b + 1) * L);
    for (let l = 0; l < L; l++) positionIds[b * L + l] = l;
    attentionMask.set(one, b * L * L);
  }
  return { promptLength: A, length: L, inputIds, segmentIds, positionIds, attentionMask };
}
