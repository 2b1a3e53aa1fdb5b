/**
 * The Snowball English ("Porter2") stemmer, written from the published algorithm
 * (snowballstem.org/algorithms/english/stemmer.html). Meteor 1.5 stems with the Snowball English
 * stemmer; this implementation agrees with the one Meteor ships on every word of the WordNet tables
 * and of the COCO captions (checked while developing; see the tests for a sample).
 *
 * @module
 */

const VOWELS = "aeiouy";
const isVowel = (c: string | undefined): boolean => c !== undefined && VOWELS.includes(c);
/** Non-vowels other than w, x and Y (the end of a short syllable). */
const isNonVowelWXY = (c: string | undefined): boolean => c !== undefined && !"aeiouywxY".includes(c);
const LI_ENDINGS = "cdeghkmnrt";
const DOUBLES = ["bb", "dd", "ff", "gg", "mm", "nn", "pp", "rr", "tt"];

/** Words with their own stem (exception list 1 of the algorithm). */
const EXCEPTIONS: Record<string, string> = {
  skis: "ski",
  skies: "sky",
  dying: "die",
  lying: "lie",
  tying: "tie",
  idly: "idl",
  gently: "gentl",
  ugly: "ugli",
  early: "earli",
  only: "onli",
  singly: "singl",
  sky: "sky",
  news: "news",
  howe: "howe",
  atlas: "atlas",
  cosmos: "cosmos",
  bias: "bias",
  andes: "andes",
};

/** Words left alone after step 1a (exception list 2). */
const AFTER_1A = new Set([
  "inning",
  "outing",
  "canning",
  "herring",
  "earring",
  "proceed",
  "exceed",
  "succeed",
]);

/** Longest suffix of `w` from `list`, or null. */
function longestSuffix(w: string, list: readonly string[]): string | null {
  let best: string | null = null;
  for (const s of list) if (w.endsWith(s) && (best === null || s.length > best.length)) best = s;
  return best;
}

/** Start of the region after the first non-vowel following a vowel, from `from` on (or w.length). */
function regionAfter(w: string, from: number): number {
  for (let i = from + 1; i < w.length; i++) if (!isVowel(w[i]) && isVowel(w[i - 1])) return i + 1;
  return w.length;
}

/** Whether `w` (up to its end) ends with a short syllable. */
function endsShortSyllable(w: string): boolean {
  const n = w.length;
  if (n >= 3 && isNonVowelWXY(w[n - 1]) && isVowel(w[n - 2]) && !isVowel(w[n - 3])) return true;
  return n === 2 && !isVowel(w[1]) && isVowel(w[0]);
}

/** Whether `w[0, end)` contains a vowel. */
function hasVowel(w: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (isVowel(w[i])) return true;
  return false;
}

/** Stems one (lowercase) word with Snowball English. */
export function snowballEnglish(word: string): string {
  if (Object.hasOwn(EXCEPTIONS, word)) return EXCEPTIONS[word];
  if (word.length < 3) return word;

  // Prelude: drop an initial apostrophe, mark consonant y as Y.
  let w = word.startsWith("'") ? word.slice(1) : word;
  let yFound = false;
  if (w.includes("y")) {
    // In one pass over the letters (rebuilding the string per y would be quadratic in a long word).
    const cs = w.split("");
    for (let i = 0; i < cs.length; i++) {
      if (cs[i] === "y" && (i === 0 || isVowel(cs[i - 1]))) {
        cs[i] = "Y";
        yFound = true;
      }
    }
    if (yFound) w = cs.join("");
  }

  // Regions R1 and R2.
  let p1: number;
  const special = ["gener", "commun", "arsen"].find((p) => w.startsWith(p));
  if (special) p1 = special.length;
  else p1 = regionAfter(w, 0);
  const p2 = regionAfter(w, p1);

  // Step 0 and 1a.
  const apos = longestSuffix(w, ["'", "'s'", "'s"]);
  if (apos) w = w.slice(0, -apos.length);
  const s1a = longestSuffix(w, ["sses", "ied", "ies", "s", "us", "ss"]);
  if (s1a === "sses") w = w.slice(0, -2);
  else if (s1a === "ied" || s1a === "ies") w = w.slice(0, -3) + (w.length - 3 >= 2 ? "i" : "ie");
  else if (s1a === "s" && hasVowel(w, w.length - 2)) w = w.slice(0, -1);

  if (!AFTER_1A.has(w)) {
    w = step1b(w, p1);
    // Step 1c: y/Y after a non-vowel that is not the first letter becomes i.
    const n = w.length;
    if (n > 2 && (w[n - 1] === "y" || w[n - 1] === "Y") && !isVowel(w[n - 2])) w = w.slice(0, -1) + "i";
    w = step2(w, p1);
    w = step3(w, p1, p2);
    w = step4(w, p2);
    w = step5(w, p1, p2);
  }
  return yFound ? w.replaceAll("Y", "y") : w;
}

function step1b(w: string, p1: number): string {
  const suf = longestSuffix(w, ["eed", "eedly", "ed", "edly", "ing", "ingly"]);
  if (suf === null) return w;
  if (suf === "eed" || suf === "eedly") {
    return w.length - suf.length >= p1 ? w.slice(0, -suf.length) + "ee" : w;
  }
  const stem = w.slice(0, -suf.length);
  if (!hasVowel(stem, stem.length)) return w;
  if (stem.endsWith("at") || stem.endsWith("bl") || stem.endsWith("iz")) return stem + "e";
  if (DOUBLES.some((d) => stem.endsWith(d))) return stem.slice(0, -1);
  if (stem.length === p1 && endsShortSyllable(stem)) return stem + "e";
  return stem;
}

const STEP2: [string, string][] = [
  ["tional", "tion"],
  ["enci", "ence"],
  ["anci", "ance"],
  ["abli", "able"],
  ["entli", "ent"],
  ["izer", "ize"],
  ["ization", "ize"],
  ["ational", "ate"],
  ["ation", "ate"],
  ["ator", "ate"],
  ["alism", "al"],
  ["aliti", "al"],
  ["alli", "al"],
  ["fulness", "ful"],
  ["ousli", "ous"],
  ["ousness", "ous"],
  ["iveness", "ive"],
  ["iviti", "ive"],
  ["biliti", "ble"],
  ["bli", "ble"],
  ["ogi", "og"],
  ["fulli", "ful"],
  ["lessli", "less"],
  ["li", ""],
];
const STEP2_SUFFIXES = STEP2.map((p) => p[0]);

function step2(w: string, p1: number): string {
  const suf = longestSuffix(w, STEP2_SUFFIXES);
  if (suf === null || w.length - suf.length < p1) return w;
  const stem = w.slice(0, -suf.length);
  if (suf === "ogi" && !stem.endsWith("l")) return w;
  if (suf === "li" && !LI_ENDINGS.includes(stem[stem.length - 1] ?? "")) return w;
  return stem + STEP2.find((p) => p[0] === suf)![1];
}

const STEP3: [string, string][] = [
  ["tional", "tion"],
  ["ational", "ate"],
  ["alize", "al"],
  ["icate", "ic"],
  ["iciti", "ic"],
  ["ical", "ic"],
  ["ful", ""],
  ["ness", ""],
  ["ative", ""],
];
const STEP3_SUFFIXES = STEP3.map((p) => p[0]);

function step3(w: string, p1: number, p2: number): string {
  const suf = longestSuffix(w, STEP3_SUFFIXES);
  if (suf === null || w.length - suf.length < p1) return w;
  if (suf === "ative" && w.length - suf.length < p2) return w;
  return w.slice(0, -suf.length) + STEP3.find((p) => p[0] === suf)![1];
}

const STEP4 = [
  "al",
  "ance",
  "ence",
  "er",
  "ic",
  "able",
  "ible",
  "ant",
  "ement",
  "ment",
  "ent",
  "ism",
  "ate",
  "iti",
  "ous",
  "ive",
  "ize",
  "ion",
];

function step4(w: string, p2: number): string {
  const suf = longestSuffix(w, STEP4);
  if (suf === null || w.length - suf.length < p2) return w;
  const stem = w.slice(0, -suf.length);
  if (suf === "ion" && !(stem.endsWith("s") || stem.endsWith("t"))) return w;
  return stem;
}

function step5(w: string, p1: number, p2: number): string {
  const n = w.length;
  if (w.endsWith("e")) {
    if (n - 1 >= p2 || (n - 1 >= p1 && !endsShortSyllable(w.slice(0, -1)))) return w.slice(0, -1);
    return w;
  }
  if (w.endsWith("l") && n - 1 >= p2 && w[n - 2] === "l") return w.slice(0, -1);
  return w;
}
