/**
 * BERT WordPiece tokenizer, identical to the one VLP uses (cased and uncased vocabularies).
 *
 * @example
 * ```ts ignore
 * import { BertTokenizer } from "@vlp/tokenizer";
 * const tok = await BertTokenizer.fromFile("vocab.txt", { lowerCase: false }); // VLP: bert-base-cased
 * const { tokens, ids } = tok.encode("A man riding a wave.");
 * console.log(tokens, ids, tok.decode(ids));
 * ```
 *
 * @module
 */
export { BasicTokenizer, type BasicTokenizerOptions, NEVER_SPLIT } from "./basic.ts";
export { BertTokenizer, type BertTokenizerOptions, CONTROL_TOKENS, type Encoding } from "./bert_tokenizer.ts";
export { detokenize } from "./detokenize.ts";
export { VLP_RENAMES, Vocab } from "./vocab.ts";
export { MAX_INPUT_CHARS_PER_WORD, type WordpieceOptions, WordpieceTokenizer } from "./wordpiece.ts";
