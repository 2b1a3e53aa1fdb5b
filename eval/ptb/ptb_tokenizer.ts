/**
 * PTB tokenization exactly as coco-caption applies it: the captions are joined with newlines (each
 * caption's own newlines become spaces), the whole text goes through Stanford's PTBTokenizer
 * (CoreNLP 3.4.1, `-preserveLines -lowerCase`), the output is split back into lines, and coco-caption
 * drops the tokens of its punctuation list.
 *
 * Because the original tokenizes one stream, a caption's last token can depend on the start of the
 * next caption ("etc." before a capital letter gives "etc. ."), and characters that PTBLexer treats as
 * line breaks (CR, U+2028, U+2029, VT, FF) shift the following captions to the wrong line exactly as
 * they do in coco-caption, whose `zip` then drops the surplus lines.
 *
 * @module
 */
import { FailMemo } from "./fail_memo.ts";
import { Scanner } from "./lexer.ts";
import { type Action, NEWLINE_TOKEN, PTB_RULES } from "./ptb_rules.ts";

let scanner: Scanner<Action> | null = null;

/** The PTBLexer scanner (built on first use, about 10 ms); its `scanned` counts the work done. */
export function ptbScanner(): Scanner<Action> {
  scanner ??= new Scanner(PTB_RULES);
  return scanner;
}

/**
 * Stanford PTBTokenizer with `-preserveLines -lowerCase` on one text: the tokens of each output line.
 * A line break in the input (or any other NEWLINE of PTBLexer) starts a new output line. Linear in the
 * length of the text (scans remember failing configurations, see `fail_memo.ts`); `memo: false` scans as
 * JFlex does, quadratic on texts built for it (the plain twin the tests compare with).
 */
export function ptbTokenizeText(text: string, opts: { memo?: boolean } = {}): string[][] {
  const sc = ptbScanner();
  const lines: string[][] = [[]];
  const memo = opts.memo === false ? undefined : new FailMemo(text.length);
  let pos = 0;
  while (pos < text.length) {
    const m = sc.match(text, pos, memo)!; // the last rules match any single code unit
    const action = sc.rules[m.rule].action;
    const token = action(text.slice(pos, pos + m.length));
    pos += m.length - (action.pushback ?? 0);
    if (token === NEWLINE_TOKEN) lines.push([]);
    else if (token !== null) lines[lines.length - 1].push(token.toLowerCase());
  }
  return lines;
}

/** The tokens coco-caption removes after PTB tokenization (its list is upper case, so "-lrb-" stays). */
export const COCO_PUNCTUATIONS: ReadonlySet<string> = new Set([
  "''",
  "'",
  "``",
  "`",
  "-LRB-",
  "-RRB-",
  "-LCB-",
  "-RCB-",
  ".",
  "?",
  "!",
  ",",
  ":",
  "-",
  "--",
  "...",
  ";",
]);

/** Options of {@linkcode ptbTokenize}. */
export interface PtbOptions {
  /** Drop coco-caption's punctuation tokens (default true). */
  removePunctuation?: boolean;
}

/**
 * Tokenizes captions as coco-caption's `PTBTokenizer.tokenize` does for one batch (all references, or
 * all results): returns, for each caption, its lowercased tokens joined by single spaces.
 */
export function ptbTokenize(captions: readonly string[], opts: PtbOptions = {}): string[] {
  const removePunct = opts.removePunctuation ?? true;
  const lines = ptbTokenizeText(captions.map((c) => c.replaceAll("\n", " ")).join("\n"));
  return captions.map((_, i) => {
    const tokens = lines[i] ?? [];
    return (removePunct ? tokens.filter((t) => !COCO_PUNCTUATIONS.has(t)) : tokens).join(" ");
  });
}
