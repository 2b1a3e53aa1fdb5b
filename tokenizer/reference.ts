/**
 * Plain reference twin of the tokenizer: a step-by-step rendering of BERT's `tokenization.py` over arrays
 * of code points, with per-character Unicode regexes and substring lookups in a Map. Slow and obvious;
 * tests compare the fast tokenizer ({@link BertTokenizer}) against it. Not exported from the module.
 *
 * @module
 */
import { NEVER_SPLIT } from "./basic.ts";

const isCategory = (re: RegExp) => (ch: string): boolean => re.test(ch);
const isZs = isCategory(/^\p{Zs}$/u);
const isC = isCategory(/^\p{C}$/u);
const isP = isCategory(/^\p{P}$/u);
const isMn = isCategory(/^\p{Mn}$/u);
/** Python's `str.isspace` for one character. */
// deno-lint-ignore no-control-regex
const isPySpace = isCategory(/^[\t\n\v\f\r\x1c-\x1f\x85\p{Zs}\p{Zl}\p{Zp}]$/u);

function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || isZs(ch);
}

function isControl(ch: string): boolean {
  if (ch === "\t" || ch === "\n" || ch === "\r") return false;
  return isC(ch);
}

function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (
    (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)
  ) {
    return true;
  }
  return isP(ch);
}

function isChineseChar(cp: number): boolean {
  const ranges = [
    [0x4e00, 0x9fff],
    [0x3400, 0x4dbf],
    [0x20000, 0x2a6df],
    [0x2a700, 0x2b73f],
    [0x2b740, 0x2b81f],
    [0x2b820, 0x2ceaf],
    [0xf900, 0xfaff],
    [0x2f800, 0x2fa1f],
  ];
  return ranges.some(([a, b]) => cp >= a && cp <= b);
}

/** Python's `text.strip().split()`. */
function whitespaceTokenize(text: string): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  for (const ch of text) {
    if (isPySpace(ch)) {
      if (cur.length > 0) out.push(cur.join(""));
      cur = [];
    } else {
      cur.push(ch);
    }
  }
  if (cur.length > 0) out.push(cur.join(""));
  return out;
}

function cleanText(text: string): string {
  const output: string[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
    output.push(isWhitespace(ch) ? " " : ch);
  }
  return output.join("");
}

function tokenizeChineseChars(text: string): string {
  const output: string[] = [];
  for (const ch of text) output.push(isChineseChar(ch.codePointAt(0)!) ? ` ${ch} ` : ch);
  return output.join("");
}

function runStripAccents(text: string): string {
  return Array.from(text.normalize("NFD")).filter((ch) => !isMn(ch)).join("");
}

function runSplitOnPunc(text: string, neverSplit: readonly string[]): string[] {
  if (neverSplit.includes(text)) return [text];
  const output: string[][] = [];
  let startNewWord = true;
  for (const ch of Array.from(text)) {
    if (isPunctuation(ch)) {
      output.push([ch]);
      startNewWord = true;
    } else {
      if (startNewWord) output.push([]);
      startNewWord = false;
      output[output.length - 1].push(ch);
    }
  }
  return output.map((x) => x.join(""));
}

/** BERT's BasicTokenizer.tokenize, step by step. */
export function referenceBasicTokenize(
  text: string,
  lowerCase: boolean,
  neverSplit: readonly string[] = NEVER_SPLIT,
): string[] {
  text = tokenizeChineseChars(cleanText(text));
  const splitTokens: string[] = [];
  for (let token of whitespaceTokenize(text)) {
    if (lowerCase && !neverSplit.includes(token)) token = runStripAccents(token.toLowerCase());
    splitTokens.push(...runSplitOnPunc(token, neverSplit));
  }
  return whitespaceTokenize(splitTokens.join(" "));
}

/** BERT's WordpieceTokenizer.tokenize, step by step. */
export function referenceWordpiece(
  text: string,
  vocab: { has(token: string): boolean },
  maxChars = 100,
): string[] {
  const outputTokens: string[] = [];
  for (const token of whitespaceTokenize(text)) {
    const chars = Array.from(token);
    if (chars.length > maxChars) {
      outputTokens.push("[UNK]");
      continue;
    }
    let isBad = false;
    let start = 0;
    const subTokens: string[] = [];
    while (start < chars.length) {
      let end = chars.length;
      let curSubstr: string | null = null;
      while (start < end) {
        let substr = chars.slice(start, end).join("");
        if (start > 0) substr = "##" + substr;
        if (vocab.has(substr)) {
          curSubstr = substr;
          break;
        }
        end -= 1;
      }
      if (curSubstr === null) {
        isBad = true;
        break;
      }
      subTokens.push(curSubstr);
      start = end;
    }
    if (isBad) outputTokens.push("[UNK]");
    else outputTokens.push(...subTokens);
  }
  return outputTokens;
}

/** BERT's BertTokenizer.tokenize, step by step. */
export function referenceTokenize(
  text: string,
  vocab: { has(token: string): boolean },
  lowerCase: boolean,
  neverSplit: readonly string[] = NEVER_SPLIT,
): string[] {
  return referenceBasicTokenize(text, lowerCase, neverSplit).flatMap((t) => referenceWordpiece(t, vocab));
}
