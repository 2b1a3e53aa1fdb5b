/**
 * VLP's `detokenize` (`decode_img2txt.py`): glue each `##` piece onto the previous token.
 *
 * @module
 */

/**
 * Glues every `##x` piece onto the token before it (a leading `##x` stays as it is) and returns the words,
 * exactly as VLP's `detokenize`; VLP then joins them with single spaces.
 *
 * @example
 * ```ts
 * import { detokenize } from "@vlp/tokenizer";
 * console.log(detokenize(["a", "surf", "##board", "."]).join(" ")); // "a surfboard ."
 * ```
 */
export function detokenize(tokens: readonly string[]): string[] {
  const words: string[] = [];
  for (const t of tokens) {
    if (words.length > 0 && t.startsWith("##")) words[words.length - 1] += t.slice(2);
    else words.push(t);
  }
  return words;
}
