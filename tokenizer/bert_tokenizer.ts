/**
 * The end-to-end BERT tokenizer VLP uses: basic tokenization, then WordPiece; encode, decode and the id ↔
 * token conversions.
 *
 * @module
 */
import { A_DROP, A_PUNCT, A_SPACE, A_WORD, ASCII_CLASS } from "./chars.ts";
import { BasicTokenizer } from "./basic.ts";
import { detokenize } from "./detokenize.ts";
import { VLP_RENAMES, Vocab } from "./vocab.ts";
import { WordpieceTokenizer } from "./wordpiece.ts";

/** The result of {@link BertTokenizer.encode}: wordpieces and their ids, one to one. */
export interface Encoding {
  /** Wordpiece strings, e.g. `["surf", "##board"]`. */
  tokens: string[];
  /** Vocabulary ids of the tokens. */
  ids: number[];
}

/** Options of {@link BertTokenizer}. */
export interface BertTokenizerOptions {
  /**
   * Lowercase and strip accents before splitting (`do_lower_case`): `true` for uncased vocabularies.
   * VLP itself (bert-base-cased) uses `false`.
   */
  lowerCase: boolean;
  /** Whitespace-delimited tokens never lowercased or split (default `NEVER_SPLIT`, VLP's list). */
  neverSplit?: Iterable<string>;
  /** Longest id sequence {@link BertTokenizer.convertTokensToIds} accepts (default unlimited; VLP: 512). */
  maxLen?: number;
}

/**
 * Tokens that {@link BertTokenizer.decode} drops by default: `[PAD] [CLS] [SEP] [MASK] [X_SEP] [SEP_0..9]`.
 * `[UNK]` is kept, since it stands for a word.
 */
export const CONTROL_TOKENS: ReadonlySet<string> = new Set([
  "[PAD]",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  ...VLP_RENAMES.values(),
]);

/**
 * BERT's `BertTokenizer` as VLP uses it (`pytorch_pretrained_bert/tokenization.py`), with the same output
 * for every input string, in cased and uncased mode.
 *
 * @example
 * ```ts ignore
 * import { BertTokenizer } from "@vlp/tokenizer";
 * const tok = await BertTokenizer.fromFile("../shared/data/bert-base-uncased-vocab.txt", { lowerCase: true });
 * const { tokens, ids } = tok.encode("A man riding a wave on top of a surfboard.");
 * // tokens: ["a", "man", "riding", "a", "wave", "on", "top", "of", "a", "surf", "##board", "."]
 * console.log(tok.decode(ids)); // "a man riding a wave on top of a surfboard ."
 * ```
 */
export class BertTokenizer {
  /** The vocabulary (with VLP's renames). */
  readonly vocab: Vocab;
  /** Whether text is lowercased and accent-stripped. */
  readonly lowerCase: boolean;
  /** Longest id sequence {@link convertTokensToIds} accepts. */
  readonly maxLen: number;
  /** Basic tokenization (the general path). */
  readonly basic: BasicTokenizer;
  /** WordPiece segmentation. */
  readonly wordpiece: WordpieceTokenizer;
  /** `[c] === 1` when a never-split token starts with ASCII code c (the fast path checks those). */
  readonly #neverSplitFirst = new Uint8Array(128);
  readonly #neverSplitMaxLen: number = 0;

  constructor(vocab: Vocab, options: BertTokenizerOptions) {
    this.vocab = vocab;
    this.lowerCase = options.lowerCase;
    this.maxLen = options.maxLen ?? Infinity;
    this.basic = new BasicTokenizer({ lowerCase: options.lowerCase, neverSplit: options.neverSplit });
    this.wordpiece = new WordpieceTokenizer(vocab);
    for (const t of this.basic.neverSplit) {
      const c = t.charCodeAt(0);
      if (c < 0x80) this.#neverSplitFirst[c] = 1;
      if (c >= 97 && c <= 122) this.#neverSplitFirst[c - 32] = 1; // matches after lowercasing too
      this.#neverSplitMaxLen = Math.max(this.#neverSplitMaxLen, t.length);
    }
  }

  /** Loads a `vocab.txt` (see {@link Vocab.load}) and builds the tokenizer. */
  static async fromFile(path: string, options: BertTokenizerOptions): Promise<BertTokenizer> {
    return new BertTokenizer(await Vocab.load(path), options);
  }

  /** Synchronous twin of {@link BertTokenizer.fromFile}. */
  static fromFileSync(path: string, options: BertTokenizerOptions): BertTokenizer {
    return new BertTokenizer(Vocab.loadSync(path), options);
  }

  /** Wordpiece ids of a text (no `[CLS]`/`[SEP]` added). */
  encodeIds(text: string): number[] {
    const ids: number[] = [];
    if (!this.#encodeAsciiInto(text, ids)) {
      ids.length = 0;
      for (const token of this.basic.tokenize(text)) {
        this.wordpiece.encodeInto(token, 0, token.length, false, ids);
      }
    }
    return ids;
  }

  /**
   * Wordpieces and their ids (no `[CLS]`/`[SEP]` added).
   *
   * @example
   * ```ts
   * import { BertTokenizer, Vocab } from "@vlp/tokenizer";
   * const vocab = Vocab.parse("[PAD]\n[UNK]\na\nman\nsurf\n##board\n.\n", "tiny.txt");
   * const tok = new BertTokenizer(vocab, { lowerCase: true });
   * console.log(tok.encode("A man, surfboard.")); // tokens ["a", "man", "[UNK]", "surf", "##board", "."]
   * ```
   */
  encode(text: string): Encoding {
    const ids = this.encodeIds(text);
    return { tokens: this.convertIdsToTokens(ids), ids };
  }

  /** Wordpieces of a text (BERT's `tokenize`). */
  tokenize(text: string): string[] {
    return this.encode(text).tokens;
  }

  /** {@link encode} over many texts. */
  encodeBatch(texts: readonly string[]): Encoding[] {
    return texts.map((t) => this.encode(t));
  }

  /**
   * Ids of wordpiece strings (BERT's `convert_tokens_to_ids`). Throws a `RangeError` for a token not in the
   * vocabulary or a sequence longer than {@link maxLen}.
   */
  convertTokensToIds(tokens: readonly string[]): number[] {
    if (tokens.length > this.maxLen) {
      throw new RangeError(
        `Cannot convert tokens to ids: the sequence has ${tokens.length} tokens, more than maxLen ${this.maxLen}`,
      );
    }
    return tokens.map((t) => {
      const id = this.vocab.id(t);
      if (id === undefined) {
        throw new RangeError(
          `Cannot convert tokens to ids: ${
            JSON.stringify(t)
          } is not in the vocabulary "${this.vocab.source}"`,
        );
      }
      return id;
    });
  }

  /** Wordpiece strings of ids (BERT's `convert_ids_to_tokens`); a `RangeError` for an unknown id. */
  convertIdsToTokens(ids: readonly number[] | Int32Array): string[] {
    const tokens = this.vocab.tokens;
    const out: string[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = tokens[ids[i]] ?? this.vocab.token(ids[i]);
    return out;
  }

  /**
   * Text of ids: control tokens dropped (unless `skipSpecialTokens` is false; see {@link CONTROL_TOKENS}),
   * `##` pieces glued onto the previous piece, pieces joined with single spaces (as VLP prints captions).
   */
  decode(ids: readonly number[] | Int32Array, options: { skipSpecialTokens?: boolean } = {}): string {
    let tokens = this.convertIdsToTokens(ids);
    if (options.skipSpecialTokens ?? true) tokens = tokens.filter((t) => !CONTROL_TOKENS.has(t));
    return detokenize(tokens).join(" ");
  }

  /**
   * The whole pipeline for pure-ASCII text without control characters, fused into one pass over the char
   * codes with no intermediate strings. Returns false (leaving `ids` partly filled) as soon as it meets a
   * character it does not handle; the caller then takes the general path.
   */
  #encodeAsciiInto(text: string, ids: number[]): boolean {
    const n = text.length;
    const lower = this.lowerCase;
    const wp = this.wordpiece;
    let atTokenStart = true; // at the start of a whitespace-delimited token
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) return false;
      const cls = ASCII_CLASS[c];
      if (cls === A_SPACE) {
        atTokenStart = true;
        i++;
        continue;
      }
      if (cls === A_DROP) return false;
      if (atTokenStart && this.#neverSplitFirst[c] === 1) { // maybe a never-split token
        let j = i + 1;
        while (
          j < n && j - i <= this.#neverSplitMaxLen && text.charCodeAt(j) > 0x20 && text.charCodeAt(j) < 0x7f
        ) j++;
        if (j === n || ASCII_CLASS[text.charCodeAt(j)] === A_SPACE) {
          const token = text.slice(i, j);
          // Kept as it is; or, when uncased, kept whole once lowercased (BERT checks before and after).
          const asIs = this.basic.neverSplit.has(token);
          if (asIs || (lower && this.basic.neverSplit.has(token.toLowerCase()))) {
            wp.encodeInto(text, i, j, !asIs, ids);
            i = j;
            continue;
          }
        }
      }
      atTokenStart = false;
      if (cls === A_PUNCT) {
        wp.encodeInto(text, i, i + 1, false, ids);
        i++;
        continue;
      }
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d >= 0x80 || ASCII_CLASS[d] !== A_WORD) break;
        j++;
      }
      wp.encodeInto(text, i, j, lower, ids);
      i = j;
    }
    return true;
  }
}
