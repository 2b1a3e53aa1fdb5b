/**
 * The original's defaults that more than one member uses, in one place (spec §3, §5.1, §10): every
 * default of a library option or CLI flag that is one of VLP's comes from here, under the original's flag
 * name. Exported from `@vlp/model`, so decode, train and onnx (and their CLIs) share them.
 *
 * `@vlp/features` is a leaf member (it imports nothing from the workspace), so its `VLP_DIMS.R` repeats
 * {@linkcode LEN_VIS_INPUT}; a test checks that the two agree.
 *
 * @example Usage
 * ```ts
 * import { LEN_VIS_INPUT, MAX_LEN_B, MAX_TGT_LENGTH } from "@vlp/model";
 * import assert from "node:assert/strict";
 * assert.equal(1 + LEN_VIS_INPUT + 1 + MAX_LEN_B + 1, 123); // L of a training sequence
 * assert.equal(LEN_VIS_INPUT + 2 + MAX_TGT_LENGTH, 122); // L of a decode
 * ```
 *
 * @module
 */

/** `--len_vis_input`: region slots per image (R); the original asserts 100 with `--enable_butd`. */
export const LEN_VIS_INPUT = 100;

/** `--max_len_b`: wordpieces of a training caption or question at most (the final `[SEP]` aside). */
export const MAX_LEN_B = 20;

/** `--max_tgt_length`: positions a caption decode generates (decode_img2txt.py; also eval_vqa2.py's text). */
export const MAX_TGT_LENGTH = 20;

/** `--mask_prob`: the fraction of a caption's wordpieces that are masked in training. */
export const MASK_PROB = 0.15;

/** `--max_pred`: masked positions per example at most (P). */
export const MAX_PRED = 3;

/** `--beam_size` of decode_img2txt.py: 1 (greedy); the README decodes the test split with 5. */
export const BEAM_SIZE = 1;

/** `--seed` of the training scripts (run_img2txt_dist.py). */
export const TRAIN_SEED = 42;

/** `--seed` of decoding and evaluation (decode_img2txt.py, eval_vqa2.py). */
export const EVAL_SEED = 123;

/** Ids of the special tokens VLP uses. */
export interface SpecialIds {
  /** `[PAD]`: 0 */
  pad: number;
  /** `[UNK]`: 100 (the region slots' placeholder) */
  unk: number;
  /** `[CLS]`: 101 */
  cls: number;
  /** `[SEP]`: 102, also the end-of-sentence token */
  sep: number;
  /** `[MASK]`: 103, appended at every decoding step */
  mask: number;
}

/** VLP's special-token ids (the bert-base-cased and -uncased vocabularies agree). */
export const SPECIAL_IDS: Readonly<SpecialIds> = Object.freeze({
  pad: 0,
  unk: 100,
  cls: 101,
  sep: 102,
  mask: 103,
});

/** Segment id of the prompt ([CLS], regions, [SEP]) in seq2seq mode with `--new_segment_ids`. */
export const PROMPT_SEGMENT = 4;

/** Segment id of the text positions in seq2seq mode with `--new_segment_ids`. */
export const TEXT_SEGMENT = 5;
