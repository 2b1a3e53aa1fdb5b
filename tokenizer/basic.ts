/**
 * BERT's BasicTokenizer: text cleaning, CJK spacing, whitespace split, optional lowercasing with accent
 * stripping, punctuation split, never-split special tokens.
 *
 * @module
 */
import { charFlags, CJK, DROP, NONSPACING_MARK, PUNCTUATION, WHITESPACE } from "./chars.ts";

/** The tokens BasicTokenizer never lowercases or splits (VLP's list). */
export const NEVER_SPLIT: readonly string[] = ["[UNK]", "[SEP]", "[X_SEP]", "[PAD]", "[CLS]", "[MASK]"];

/** Options of {@link BasicTokenizer}. */
export interface BasicTokenizerOptions {
  /** Lowercase and strip accents (uncased vocabularies). VLP itself uses `false`. */
  lowerCase: boolean;
  /** Whitespace-delimited tokens kept whole (default {@link NEVER_SPLIT}). */
  neverSplit?: Iterable<string>;
}

/** Width in UTF-16 units of the code point `cp`. */
function width(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/**
 * Steps 1–3 of BERT: drops U+0000, U+FFFD and control characters, turns whitespace into separators, puts
 * separators around CJK ideographs, and splits. Returns the whitespace-delimited tokens.
 */
export function cleanAndSplit(text: string): string[] {
  const out: string[] = [];
  let word = ""; // the current token, built from slices of text
  let runStart = -1; // start of the current run of kept characters, -1 when none
  const n = text.length;
  for (let i = 0; i < n;) {
    const cp = text.codePointAt(i)!;
    const f = cp < 0x80 && cp > 0x20 && cp !== 0x7f ? 0 : charFlags(cp);
    const w = width(cp);
    if ((f & (WHITESPACE | DROP | CJK)) === 0) {
      if (runStart < 0) runStart = i;
      i += w;
      continue;
    }
    if (runStart >= 0) {
      word += text.slice(runStart, i);
      runStart = -1;
    }
    if ((f & DROP) === 0) { // a separator ends the token; a CJK ideograph is a token of its own
      if (word !== "") out.push(word);
      word = "";
      if (f & CJK) out.push(text.slice(i, i + w));
    }
    i += w;
  }
  if (runStart >= 0) word += text.slice(runStart);
  if (word !== "") out.push(word);
  return out;
}

/** Lowercases and strips accents (NFD, then drops category Mn), as BERT's uncased path. */
export function lowerAndStripAccents(token: string): string {
  const lower = token.toLowerCase();
  let ascii = true;
  for (let i = 0; i < lower.length; i++) {
    if (lower.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return lower;
  const nfd = lower.normalize("NFD");
  let out = "";
  for (let i = 0; i < nfd.length;) {
    const cp = nfd.codePointAt(i)!;
    const w = width(cp);
    if ((charFlags(cp) & NONSPACING_MARK) === 0) out += nfd.slice(i, i + w);
    i += w;
  }
  return out;
}

/** Splits a token on punctuation: each punctuation character becomes its own piece. Appends to `out`. */
export function splitOnPunctuation(token: string, out: string[]): void {
  let start = 0;
  const n = token.length;
  for (let i = 0; i < n;) {
    const cp = token.codePointAt(i)!;
    const w = width(cp);
    if (charFlags(cp) & PUNCTUATION) {
      if (i > start) out.push(token.slice(start, i));
      out.push(token.slice(i, i + w));
      start = i + w;
    }
    i += w;
  }
  if (start < n) out.push(start === 0 ? token : token.slice(start));
}

/**
 * BERT's BasicTokenizer (`pytorch_pretrained_bert/tokenization.py`), exactly: the output is what the
 * original gives for any string.
 *
 * @example
 * ```ts
 * import { BasicTokenizer } from "@vlp/tokenizer";
 * const basic = new BasicTokenizer({ lowerCase: true });
 * console.log(basic.tokenize("Héllo, [MASK] world!")); // ["hello", ",", "[MASK]", "world", "!"]
 * ```
 */
export class BasicTokenizer {
  /** Whether tokens are lowercased and accent-stripped. */
  readonly lowerCase: boolean;
  /** Tokens kept whole. */
  readonly neverSplit: ReadonlySet<string>;

  constructor(options: BasicTokenizerOptions) {
    this.lowerCase = options.lowerCase;
    this.neverSplit = new Set(options.neverSplit ?? NEVER_SPLIT);
  }

  /** Splits text into basic tokens (words and punctuation characters). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (let token of cleanAndSplit(text)) {
      if (this.neverSplit.has(token)) {
        out.push(token);
        continue;
      }
      if (this.lowerCase) {
        token = lowerAndStripAccents(token);
        // The original checks never-split again after lowercasing; an empty token (all marks) vanishes.
        if (this.neverSplit.has(token)) {
          out.push(token);
          continue;
        }
      }
      splitOnPunctuation(token, out);
    }
    return out;
  }
}
