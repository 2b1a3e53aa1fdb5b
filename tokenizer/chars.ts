/**
 * Character classes of BERT's BasicTokenizer, as bit flags per code point.
 *
 * BERT asks Python's `unicodedata.category` about every character; here the answer for each code point is
 * computed once (with Unicode property escapes) and cached: in a 64 Ki table for the BMP, in a Map above it.
 * ASCII has its own eagerly built table for the tokenizer's fast path.
 *
 * @module
 */

/** Becomes a separator: space, `\t`, `\n`, `\r`, category Zs, and Zl/Zp (which Python's `str.split` splits on). */
export const WHITESPACE = 1;
/** Removed by text cleaning: U+0000, U+FFFD and every category C* character except `\t`, `\n`, `\r`. */
export const DROP = 2;
/** Its own token: ASCII 33–47, 58–64, 91–96, 123–126, or category P*. */
export const PUNCTUATION = 4;
/** A CJK ideograph (BERT's code-point ranges): spaces are put around it. */
export const CJK = 8;
/** Category Mn (non-spacing mark): removed by accent stripping after NFD. */
export const NONSPACING_MARK = 16;
/** Set once a table entry is computed. */
const KNOWN = 128;

const RE_ZS = /^\p{Zs}$/u;
const RE_ZLZP = /^[\p{Zl}\p{Zp}]$/u;
const RE_OTHER = /^\p{C}$/u;
const RE_PUNCT = /^\p{P}$/u;
const RE_MN = /^\p{Mn}$/u;

/** True for BERT's CJK ideograph ranges (`_is_chinese_char`). */
export function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/** True for the ASCII characters BERT always treats as punctuation (all non-alphanumeric printable ones). */
function isAsciiPunctuation(cp: number): boolean {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
    (cp >= 123 && cp <= 126);
}

/** Computes the flags of one code point from its Unicode properties (slow; results are cached). */
function computeFlags(cp: number): number {
  const ch = String.fromCodePoint(cp);
  let flags = 0;
  if (cp === 0x20 || cp === 0x09 || cp === 0x0a || cp === 0x0d || RE_ZS.test(ch) || RE_ZLZP.test(ch)) {
    flags |= WHITESPACE;
  } else if (cp === 0 || cp === 0xfffd || RE_OTHER.test(ch)) {
    flags |= DROP;
  }
  if (isAsciiPunctuation(cp) || RE_PUNCT.test(ch)) flags |= PUNCTUATION;
  if (isCjk(cp)) flags |= CJK;
  if (RE_MN.test(ch)) flags |= NONSPACING_MARK;
  return flags;
}

const bmp = new Uint8Array(0x10000);
const astral = new Map<number, number>();

/**
 * The class flags of a code point (a lone surrogate counts as category Cs, so as {@link DROP}).
 *
 * @example
 * ```ts
 * import { charFlags, PUNCTUATION } from "./chars.ts";
 * console.log((charFlags(0x2014) & PUNCTUATION) !== 0); // "—" is punctuation: true
 * ```
 */
export function charFlags(cp: number): number {
  if (cp < 0x10000) {
    const f = bmp[cp];
    if (f !== 0) return f & ~KNOWN;
    const g = computeFlags(cp);
    bmp[cp] = g | KNOWN;
    return g;
  }
  let g = astral.get(cp);
  if (g === undefined) {
    g = computeFlags(cp);
    astral.set(cp, g);
  }
  return g;
}

/** Class of an ASCII character in the fast path. */
export const A_WORD = 0, A_SPACE = 1, A_DROP = 2, A_PUNCT = 3;

/** `ASCII_CLASS[c]` for c < 128: one of {@link A_WORD}, {@link A_SPACE}, {@link A_DROP}, {@link A_PUNCT}. */
export const ASCII_CLASS: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const f = computeFlags(c);
    t[c] = f & WHITESPACE ? A_SPACE : f & DROP ? A_DROP : f & PUNCTUATION ? A_PUNCT : A_WORD;
  }
  return t;
})();

/**
 * True for what Python's `str.isspace` calls whitespace (used to trim vocabulary lines as `str.strip` does).
 */
export function isPythonSpace(cp: number): boolean {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp === 0x85 ||
    (cp > 0x7f && (charFlags(cp) & WHITESPACE) !== 0);
}
