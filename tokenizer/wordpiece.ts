/**
 * WordPiece: greedy longest-match-first segmentation of one basic token into vocabulary pieces, with `##`
 * marking a continuation piece.
 *
 * The vocabulary is held in a trie over UTF-16 code units whose edges live in one open-addressing hash
 * table, so the longest match at a position costs one walk and no string is allocated. Matching on code
 * units gives the same pieces as BERT's matching on code points: a vocabulary entry is well-formed UTF-16,
 * so a candidate that would end inside a surrogate pair is never an entry.
 *
 * @module
 */
import type { Vocab } from "./vocab.ts";

/** A word longer than this (in code points) becomes `[UNK]`, as in BERT. */
export const MAX_INPUT_CHARS_PER_WORD = 100;

/** Options of {@link WordpieceTokenizer}. */
export interface WordpieceOptions {
  /** Token for a word that cannot be segmented (default `[UNK]`; must be in the vocabulary). */
  unkToken?: string;
  /** Longest word, in code points, that is segmented (default 100). */
  maxInputCharsPerWord?: number;
}

/**
 * WordPiece tokenizer of BERT (`WordpieceTokenizer`), exactly.
 *
 * @example
 * ```ts
 * import { Vocab, WordpieceTokenizer } from "@vlp/tokenizer";
 * const vocab = Vocab.parse("[UNK]\nun\n##aff\n##able\n", "tiny.txt");
 * const wp = new WordpieceTokenizer(vocab);
 * console.log(wp.tokenize("unaffable")); // ["un", "##aff", "##able"]
 * console.log(wp.tokenize("unknown")); // ["[UNK]"]
 * ```
 */
export class WordpieceTokenizer {
  /** The vocabulary. */
  readonly vocab: Vocab;
  /** Id of the unknown-word token. */
  readonly unkId: number;
  /** Longest word, in code points, that is segmented. */
  readonly maxInputCharsPerWord: number;

  // Trie: node 0 is the root; nodeId[node] is the vocabulary id of the string spelled by the path, or -1.
  // Edges: slot s holds (edgeNode[s], edgeUnit[s]) → edgeChild[s]; edgeNode[s] === -1 marks a free slot.
  readonly #nodeId: Int32Array;
  readonly #edgeNode: Int32Array;
  readonly #edgeUnit: Int32Array;
  readonly #edgeChild: Int32Array;
  readonly #shift: number;
  readonly #mask: number;
  /** Node of "##" (where continuation pieces start), or -1 when no entry starts with "##". */
  readonly #contRoot: number;

  constructor(vocab: Vocab, options: WordpieceOptions = {}) {
    const unkToken = options.unkToken ?? "[UNK]";
    const unkId = vocab.id(unkToken);
    if (unkId === undefined) {
      throw new RangeError(
        `Cannot build the WordPiece tokenizer: the vocabulary "${vocab.source}" has no unknown token ${unkToken}`,
      );
    }
    this.vocab = vocab;
    this.unkId = unkId;
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? MAX_INPUT_CHARS_PER_WORD;

    let units = 0;
    for (const t of vocab.tokens) units += t.length;
    let bits = 4;
    while ((1 << bits) < 2 * (units + 2)) bits++; // load factor at most 1/2
    const slots = 1 << bits;
    this.#shift = 32 - bits;
    this.#mask = slots - 1;
    this.#edgeNode = new Int32Array(slots).fill(-1);
    this.#edgeUnit = new Int32Array(slots);
    this.#edgeChild = new Int32Array(slots);
    const nodeId = new Int32Array(units + 3).fill(-1);
    let nodes = 1;
    const insert = (token: string, id: number): void => {
      let node = 0;
      for (let i = 0; i < token.length; i++) {
        const u = token.charCodeAt(i);
        let child = this.#child(node, u);
        if (child < 0) {
          child = nodes++;
          let s = this.#slot(node, u);
          while (this.#edgeNode[s] !== -1) s = (s + 1) & this.#mask;
          this.#edgeNode[s] = node;
          this.#edgeUnit[s] = u;
          this.#edgeChild[s] = child;
        }
        node = child;
      }
      if (id >= 0) nodeId[node] = id;
    };
    vocab.tokens.forEach(insert);
    insert("##", vocab.id("##") ?? -1); // make sure the continuation root exists
    this.#nodeId = nodeId;
    this.#contRoot = this.#child(this.#child(0, 0x23), 0x23);
  }

  /** Home slot of the edge (node, unit). */
  #slot(node: number, unit: number): number {
    return Math.imul((node << 16) ^ (node >>> 16) ^ unit, 0x9e3779b1) >>> this.#shift;
  }

  /** Child of `node` along code unit `unit`, or -1. */
  #child(node: number, unit: number): number {
    const edgeNode = this.#edgeNode;
    let s = this.#slot(node, unit);
    for (;;) {
      const n = edgeNode[s];
      if (n === node && this.#edgeUnit[s] === unit) return this.#edgeChild[s];
      if (n === -1) return -1;
      s = (s + 1) & this.#mask;
    }
  }

  /**
   * Segments `text[start, end)` (one basic token) and appends the piece ids to `ids`; a word that cannot be
   * segmented, or is longer than {@link maxInputCharsPerWord}, appends {@link unkId} instead. With
   * `lowerAscii`, ASCII capitals are read as lowercase (the fast path of an uncased tokenizer).
   */
  encodeInto(text: string, start: number, end: number, lowerAscii: boolean, ids: number[]): void {
    if (end - start > this.maxInputCharsPerWord && codePoints(text, start, end) > this.maxInputCharsPerWord) {
      ids.push(this.unkId);
      return;
    }
    const nodeId = this.#nodeId;
    const base = ids.length;
    let root = 0;
    let pos = start;
    while (pos < end) {
      let node = root, bestId = -1, bestEnd = pos;
      for (let j = pos; j < end && node >= 0; j++) {
        let u = text.charCodeAt(j);
        if (lowerAscii && u >= 65 && u <= 90) u += 32;
        node = this.#child(node, u);
        if (node >= 0 && nodeId[node] >= 0) {
          bestId = nodeId[node];
          bestEnd = j + 1;
        }
      }
      if (bestId < 0) {
        ids.length = base;
        ids.push(this.unkId);
        return;
      }
      ids.push(bestId);
      pos = bestEnd;
      root = this.#contRoot;
    }
  }

  /** Segments one basic token into wordpieces (token strings). */
  tokenize(word: string): string[] {
    const ids: number[] = [];
    this.encodeInto(word, 0, word.length, false, ids);
    return ids.map((id) => this.vocab.tokens[id]);
  }
}

/** Number of code points in `text[start, end)`. */
function codePoints(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const u = text.charCodeAt(i);
    if (u < 0xdc00 || u > 0xdfff || i === start || !isHigh(text.charCodeAt(i - 1))) n++;
  }
  return n;
}

function isHigh(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}
