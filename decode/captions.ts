/**
 * From decoded ids to the COCO results file, as `decode_img2txt.py` does it: ids → wordpieces, cut at the
 * first `[SEP]` or `[PAD]`, `##` pieces glued onto the previous token, tokens joined with single spaces;
 * then `[{"image_id", "caption"}]` written atomically (temporary file + rename).
 *
 * @example Usage
 * ```ts
 * import { captionText } from "@vlp/decode";
 * import { Vocab } from "@vlp/tokenizer";
 * import assert from "node:assert/strict";
 * const vocab = Vocab.parse("[PAD]\n[SEP]\na\nsurf\n##board\n", "tiny.txt");
 * assert.equal(captionText([2, 3, 4, 1, 2], vocab), "a surfboard");
 * ```
 *
 * @module
 */
import { writeTextAtomic } from "@vlp/io";
import { detokenize, type Vocab } from "@vlp/tokenizer";

/** One line of the COCO caption results format. */
export interface CaptionResult {
  image_id: number;
  caption: string;
}

/** Tokens that end a caption in VLP's post-processing. */
export const CAPTION_END_TOKENS: ReadonlySet<string> = new Set(["[SEP]", "[PAD]"]);

/** The caption text of decoded ids (see the module doc); an id outside the vocabulary is a RangeError. */
export function captionText(ids: ArrayLike<number>, vocab: Vocab): string {
  const tokens: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const t = vocab.token(ids[i]);
    if (CAPTION_END_TOKENS.has(t)) break;
    tokens.push(t);
  }
  return detokenize(tokens).join(" ");
}

/** Rows of [B, T] ids as caption texts. */
export function captionTexts(ids: Int32Array, B: number, vocab: Vocab): string[] {
  const T = ids.length / B;
  return Array.from({ length: B }, (_, b) => captionText(ids.subarray(b * T, (b + 1) * T), vocab));
}

/** Write `[{"image_id", "caption"}, ...]` to `path` atomically (one result per line). */
export async function writeCaptionResults(path: string, results: readonly CaptionResult[]): Promise<void> {
  const body = results.map((r) => JSON.stringify({ image_id: r.image_id, caption: r.caption })).join(",\n");
  await writeTextAtomic(path, results.length ? `[\n${body}\n]\n` : "[]\n");
}
