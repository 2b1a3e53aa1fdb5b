/**
 * Meteor 1.5's English normalisation (`-norm`, punctuation kept): its Moses-style tokenization with
 * quote and dash normalisation, dashes between words split, English contractions split to the right,
 * periods split unless the word is an abbreviation, dots dropped from acronyms ("u.s." -> "us"), and
 * Unicode spaces collapsed. The character classes are Meteor's (Java regex without Unicode flags).
 *
 * @module
 */
import { javaTokens, javaTrim } from "./java_compat.ts";
import { NONBREAKING_ANY, NONBREAKING_NUMERIC } from "./nonbreaking_prefixes.ts";

/** Meteor's letter ranges (Western European, Cyrillic). */
const ALPHA = "A-Za-z\u0160\u017D\u0161\u017E\u0178\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u017E" +
  "\u0400-\u04FF\u0500-\u0527\uA640-\uA66E\uA67E-\uA697\u1D00-\u1D7F";
const ALNUM = "0-9" + ALPHA;

// Code-point aware ("u"), like Java's regex: a surrogate pair is one character.
const SEP_OTHER = new RegExp(`([^${ALNUM} \\t\\n\\x0B\\f\\r.'\`,\\-\u2018\u2019])`, "gu");
const MULTI_DOT = /\.([.]+)/g;
const MULTI_DOT_RUN = /DOTMULTI(\.+)/g;
const COMMA1 = /([^0-9])[,]([^0-9])/g;
const COMMA2 = /([0-9])[,]([^0-9])/g;
const COMMA3 = /([^0-9])[,]([0-9])/g;
const QUOTE1 = /([`\u2018\u2019])/g;
const QUOTE2 = /([\u201C\u201D]|'')/g;
const RM_DASH = new RegExp(`([${ALNUM}.])[-]([${ALNUM}])`, "g");
const CONT1 = new RegExp(`([^${ALPHA}])[']([^${ALPHA}])`, "g");
const CONT2 = new RegExp(`([^${ALPHA}0-9])[']([${ALPHA}])`, "g");
const CONT3 = new RegExp(`([${ALPHA}])[']([^${ALPHA}])`, "g");
const CONT4 = new RegExp(`([${ALPHA}])[']([${ALPHA}])`, "g");
const CONT5 = /([0-9])[']([s])/g;
const HAS_ALPHA = new RegExp(`[${ALPHA}]`);
const STARTS_LOWER = /^[a-z]/;
const STARTS_DIGIT = /^[0-9]+/;
const WHITE = /[ \u2000-\u200A\u202F\u205F\u3000\u00A0]+/g;

const NBP = new Map<string, "any" | "num">([
  ...NONBREAKING_ANY.map((p) => [p, "any"] as const),
  ...NONBREAKING_NUMERIC.map((p) => [p, "num"] as const),
]);

/** Meteor's `Normalizer.normalizeLine(line, LANG_EN, keepPunctuation = true)`. */
export function normalizeEnglish(line: string): string {
  let w = " " + line + " ";
  w = w.replace(SEP_OTHER, " $1 ");
  w = expandMultiDots(w.replace(MULTI_DOT, " DOTMULTI$1"));
  w = w.replace(COMMA1, "$1 , $2").replace(COMMA2, "$1 , $2").replace(COMMA3, "$1 , $2");
  w = w.replace(QUOTE1, "'").replace(QUOTE2, ' " ');
  w = w.replaceAll("\u2013", "-").replaceAll("--", "-");
  w = w.replace(RM_DASH, "$1 $2");
  w = w.replace(CONT1, "$1 ' $2").replace(CONT2, "$1 ' $2").replace(CONT3, "$1 ' $2");
  w = w.replace(CONT4, "$1 '$2").replace(CONT5, "$1 '$2");

  const words = javaTokens(w);
  let out = "";
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word.length > 1 && word.endsWith(".")) {
      const pre = word.slice(0, -1);
      const type = NBP.get(pre);
      const next = i < words.length - 1 ? words[i + 1] : null;
      if (pre.includes(".") && HAS_ALPHA.test(pre)) out += word.replaceAll(".", "");
      else if (type === "any" || (next !== null && STARTS_LOWER.test(next))) out += word;
      else if (type === "num" && next !== null && STARTS_DIGIT.test(next)) out += word;
      else out += pre + " .";
    } else {
      out += word;
    }
    out += " ";
  }
  return javaTrim(restoreMultiDots(out).replace(WHITE, " "));
}

/**
 * The original's loop, in one pass:
 * `while (w.contains("DOTMULTI.")) { w = w.replaceAll("DOTMULTI\\.([^.])", "DOTDOTMULTI $1");
 * w = w.replaceAll("DOTMULTI.", "DOTDOTMULTI"); }`. Each round takes one dot off every "DOTMULTI" followed
 * by dots (the last one with a space before the next character), so "DOTMULTI" + r dots ends as
 * "DOT" x r + "DOTMULTI " after r rounds: quadratic as a loop over a long run of dots, linear here. The one
 * interaction between runs is in the first round: when a "DOTMULTI." whose next character is the "D" of
 * an adjacent "DOTMULTI." is rewritten with its space, that "D" is consumed, so the adjacent one (if it
 * has one dot) gets no space.
 */
export function expandMultiDots(w: string): string {
  let prevEnd = -1, prevTookNext = false;
  return w.replace(MULTI_DOT_RUN, (match: string, dots: string, offset: number) => {
    const r = dots.length, end = offset + match.length;
    const consumed = r === 1 && prevTookNext && prevEnd === offset;
    const space = end < w.length && !consumed;
    prevTookNext = r === 1 && space;
    prevEnd = end;
    return "DOT".repeat(r) + "DOTMULTI" + (space ? " " : "");
  });
}

/**
 * The original's `while (w.contains("DOTDOTMULTI")) w = w.replaceAll("DOTDOTMULTI", "DOTMULTI.");
 * w = w.replaceAll("DOTMULTI", ".");` in one pass: "DOT" x a + "DOTMULTI" becomes a + 1 dots.
 */
export function restoreMultiDots(w: string): string {
  let out = "", last = 0;
  for (let k = w.indexOf("DOTMULTI"); k !== -1; k = w.indexOf("DOTMULTI", k + 8)) {
    // The "DOT"s right before it (never reaching back into the previous "DOTMULTI").
    let s = k;
    while (s - 3 >= last && w.startsWith("DOT", s - 3)) s -= 3;
    out += w.slice(last, s) + ".".repeat((k - s) / 3 + 1);
    last = k + 8;
  }
  return out + w.slice(last);
}
