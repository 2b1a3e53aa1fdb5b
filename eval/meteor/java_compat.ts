/**
 * Java behaviour Meteor depends on: `String.hashCode` (Meteor compares words by their hash codes),
 * `String.trim` and `java.util.StringTokenizer` with its default delimiters.
 *
 * @module
 */

/** Java's `String.hashCode()` (32-bit, over UTF-16 code units). */
export function javaHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Java's `String.trim()`: removes code units <= U+0020 from both ends. */
export function javaTrim(s: string): string {
  let lo = 0, hi = s.length;
  while (lo < hi && s.charCodeAt(lo) <= 0x20) lo++;
  while (hi > lo && s.charCodeAt(hi - 1) <= 0x20) hi--;
  return lo === 0 && hi === s.length ? s : s.slice(lo, hi);
}

const TOKENIZER_DELIMS = /[ \t\n\r\f]+/;

/** `new StringTokenizer(s)` tokens: split on space, tab, newline, carriage return and form feed. */
export function javaTokens(s: string): string[] {
  return s.split(TOKENIZER_DELIMS).filter((t) => t.length > 0);
}
