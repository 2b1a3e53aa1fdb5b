/**
 * The lexical rules of Stanford CoreNLP 3.4.1's PTBLexer (the tokenizer coco-caption runs as
 * `PTBTokenizer -preserveLines -lowerCase`), written with the combinators of `lexer.ts`. The rules keep
 * the original order (earlier wins a tie) and the option values coco-caption gets: PTB3 escaping on
 * (brackets, quotes, dashes, ellipses, currency, fractions normalised), `tokenizeNLs` on, not
 * invertible, not strict Treebank 3, assimilations split ("cannot" -> "can not").
 *
 * Literal strings in `seq`/`alt` match case-insensitively, as the original scanner is `%caseless`;
 * character classes (`cls`, `set`) are case-sensitive, as in JFlex.
 *
 * @module
 */
import {
  alt,
  chars,
  cls,
  complement,
  exact,
  hexRanges,
  notCls,
  opt,
  plus,
  type Re,
  rep,
  type Rule,
  seq,
  set,
  star,
  union,
} from "./lexer.ts";
import { DIGIT_RANGES, LETTER_RANGES, UPPERCASE_RANGES } from "./unicode_classes.ts";

/** What a rule does with its matched text. */
export interface Action {
  /** The token (null: nothing is produced, the text is skipped). */
  (text: string): string | null;
  /** How many code units at the end of the match go back to the input (JFlex `yypushback`). */
  pushback?: number;
}

/** The newline token of `tokenizeNLs` (PTBLexer's `*NL*`). */
export const NEWLINE_TOKEN = "*NL*";

const u = (code: number) => String.fromCharCode(code);

// ---- character classes ------------------------------------------------------------------------------

const JLETTER = hexRanges(LETTER_RANGES);
const JDIGIT = hexRanges(DIGIT_RANGES);
const JUPPER = hexRanges(UPPERCASE_RANGES);
const letter = set(JLETTER);
const digitJ = set(JDIGIT);
const upper = set(JUPPER);
const letterOrDigitJ = set(union(JLETTER, JDIGIT));

// ---- macros -------------------------------------------------------------------------------------------

const nameChars = cls("A-Za-z0-9_:.-");
const SGML = seq(
  "<",
  alt(
    seq(cls("!?"), cls("A-Za-z-"), star(notCls(">\r\n"))),
    seq(
      cls("A-Za-z"),
      star(nameChars),
      star(seq(
        plus(" "),
        alt(
          seq(cls("A-Za-z"), star(nameChars)),
          seq(
            cls("A-Za-z"),
            star(nameChars),
            star(" "),
            "=",
            star(" "),
            alt(seq("'", star(notCls("'")), "'"), seq('"', star(notCls('"')), '"')),
          ),
        ),
      )),
      star(" "),
      opt("/"),
    ),
    seq("/", cls("A-Za-z"), star(nameChars)),
  ),
  star(" "),
  ">",
);
const SPMDASH = alt(
  seq("&", alt("MD", "mdash", "ndash"), ";"),
  cls(u(0x96) + u(0x97) + "\u2013\u2014\u2015"),
);
const SPAMP = seq("&amp;");
const SPPUNC = seq(
  "&",
  alt("HT", "TL", "UR", "LR", "QC", "QL", "QR", "odq", "cdq", seq("#", plus(cls("0-9")))),
  ";",
);
const SPLET = seq("&", cls("aeiouAEIOU"), alt("acute", "grave", "uml"), ";");
const SPACE = cls(" \t\u00A0\u2000-\u200A\u3000");
const SPACES = plus(SPACE);
const NEWLINE = alt("\r", seq(opt("\r"), "\n"), "\u2028", "\u2029", "\u000B", "\u000C", u(0x85));
const SPACENL = alt(SPACE, NEWLINE);
const SPACENLS = plus(SPACENL);
const SENTEND = seq(SPACENL, alt(SPACENL, upper, SGML));
const DIGIT = set(union(JDIGIT, chars("\u07C0-\u07C9")));
const DATE = seq(rep(DIGIT, 1, 2), cls("/-"), rep(DIGIT, 1, 2), cls("/-"), rep(DIGIT, 2, 4));
const NUM = alt(plus(DIGIT), seq(star(DIGIT), plus(seq(cls(".:,\u00AD\u066B\u066C"), plus(DIGIT)))));
const NUMBER = seq(opt(cls("+-")), NUM);
const SUBSUPNUM = seq(
  opt(cls("\u207A\u207B\u208A\u208B")),
  alt(plus(cls("\u2070\u00B9\u00B2\u00B3\u2074-\u2079")), plus(cls("\u2080-\u2089"))),
);
const FRAC = seq(
  opt(seq(rep(DIGIT, 1, 4), cls("- \u00A0"))),
  rep(DIGIT, 1, 4),
  alt(seq(opt("\\"), "/"), "\u2044"),
  rep(DIGIT, 1, 4),
);
const FRAC2 = cls("\u00BC\u00BD\u00BE\u2153-\u215E");
const DOLSIGN = alt(seq(star(cls("A-Z")), "$"), "#");
const DOLSIGN2 = cls(
  "\u00A2\u00A3\u00A4\u00A5" + u(0x80) + "\u20A0\u20AC\u060B\u0E3F\u20A4\uFFE0\uFFE1\uFFE5\uFFE6",
);
/** Combining marks and other code units PTBLexer accepts inside words besides `[:letter:]`. */
const LETTER_EXTRA = hexRanges(
  "ad 237-24f 2c2-2c5 2d2-2df 2e5-2ff 300-36f 370-37d 384-385 3cf 3f6 3fc-3ff 483-487 4cf 4f6-4ff " +
    "510-525 55a-55f 591-5bd 5bf 5c1-5c2 5c4-5c5 5c7 615-61a 63b-63f 64b-65e 670 6d6-6ef 6fa-6ff 70f 711 " +
    "730-74f 750-77f 7a6-7b1 7ca-7f5 7fa 900-903 93c 93e-94e 951-955 962-963 981-983 9bc-9c4 9c7-9c8 " +
    "9cb-9cd 9d7 9e2-9e3 a01-a03 a3c a3e-a4f a81-a83 abc-acf b82 bbe-bc2 bc6-bc8 bca-bcd c01-c03 c3e-c56 " +
    "d3e-d44 d46-d48 e30-e3a e47-e4e eb1-ebc ec8-ecd",
);
const LETTER = alt(set(union(JLETTER, LETTER_EXTRA)), SPLET);
const LETTER_OR_DIGIT = alt(LETTER, DIGIT);
const WORD = seq(LETTER, star(LETTER_OR_DIGIT), star(seq(cls(".!?"), LETTER, star(LETTER_OR_DIGIT))));
const FILENAME_EXT = alt(
  ..."bat bmp c class cgi cpp dll doc docx exe gif gz h htm html jar java jpeg jpg mov mp3 pdf php pl png ppt ps py sql tar txt wav x xml zip"
    .split(" "),
);
const FILENAME = seq(plus(LETTER_OR_DIGIT), star(seq(".", plus(LETTER_OR_DIGIT))), ".", FILENAME_EXT);
const APOS = alt(cls("'" + u(0x92) + "\u2019"), "&apos;");
const APOSETCETERA = alt(APOS, cls("`" + u(0x91) + "\u2018\u201B"));
const HYPHEN = cls("-_\u058A\u2010\u2011");
const THING_PART = seq(opt(seq(cls("dDoOlL"), APOSETCETERA, letterOrDigitJ)), plus(letterOrDigitJ));
const THING = seq(THING_PART, star(seq(HYPHEN, THING_PART)));
const THINGA = seq(plus(cls("A-Z")), plus(seq(alt(cls("+&"), SPAMP), plus(cls("A-Z")))));
const THING3_PART = seq(plus(cls("A-Za-z0-9")), rep(seq("-", plus(cls("A-Za-z"))), 0, 2));
const THING3 = seq(THING3_PART, rep(seq(opt("\\"), "/", THING3_PART), 1, 2));
const ACRO_SPECIAL = alt(
  seq(alt("Canada", "Sino", "Korean", "EU", "Japan", "non"), "-U.S"),
  seq("U.S.-", alt("U.K", "U.S.S.R")),
);
const ACRO = alt(seq(cls("A-Za-z"), star(seq(".", cls("A-Za-z")))), ACRO_SPECIAL);
const ACRO2 = alt(seq(cls("A-Za-z"), plus(seq(".", cls("A-Za-z")))), ACRO_SPECIAL);
const HTHING = seq(
  cls("A-Za-z0-9"),
  star(cls("A-Za-z0-9.,\u00AD")),
  plus(seq("-", alt(plus(cls("A-Za-z0-9\u00AD")), seq(ACRO2, ".")))),
);
const REDAUX = seq(APOS, alt(cls("msdMSD"), "re", "ve", "ll"));
const SWORD = seq(star(cls("A-Za-z\u00AD")), cls("A-MO-Za-mo-z"), star("\u00AD"));
const SREDAUX = seq("n", APOSETCETERA, "t");
const APOWORD = alt(
  seq(APOS, "n", opt(APOS)),
  seq(cls("lLdDjJ"), APOS),
  seq("Dunkin", APOS),
  seq("somethin", APOS),
  seq("ol", APOS),
  seq(APOS, "em"),
  seq(cls("A-HJ-XZn"), APOSETCETERA, letter, letter, star(letter)),
  seq(APOS, cls("2-9"), "0s"),
  seq(APOS, "til", opt("l")),
  seq(letter, star(letter), cls("aeiouyAEIOUY"), APOSETCETERA, cls("aeiouA-Z"), star(letter)),
  seq(APOS, "cause"),
  seq("cont'd", opt(".")),
  "'twas",
  "nor'easter",
  "c'mon",
  "e'er",
  "s'mores",
  "ev'ry",
  "li'l",
  "nat'l",
  seq("O", APOSETCETERA, "o"),
);
const APOWORD2 = seq("y", APOS);
const FULLURL = seq(
  "http",
  opt("s"),
  "://",
  plus(notCls(' \t\n\f\r"<>|(){}')),
  notCls(' \t\n\f\r"<>|.!?(){},-'),
);
const LIKELYURL = seq(
  alt(
    seq("www.", plus(seq(plus(notCls(' \t\n\f\r"<>|.!?(){},')), ".")), rep(cls("a-zA-Z"), 2, 4)),
    // The original class `[^ ...,-_$]` holds the RANGE ',' .. '_' (digits, capitals, most ASCII symbols).
    seq(plus(seq(plus(notCls(" \t\n\f\r\"`'<>|.!?(){},-_$")), ".")), alt("com", "net", "org", "edu")),
  ),
  opt(seq("/", plus(notCls(' \t\n\f\r"<>|()')), notCls(' \t\n\f\r"<>|.!?(){},-'))),
);
const EMAIL = seq(
  opt(alt("&lt;", "<")),
  cls("a-zA-Z0-9"),
  star(notCls(' \t\n\f\r"<>|()\u00A0{}')),
  "@",
  star(seq(plus(notCls(' \t\n\f\r"<>|(){}.\u00A0')), ".")),
  plus(notCls(' \t\n\f\r"<>|(){}.\u00A0')),
  opt(alt("&gt;", ">")),
);
const TWITTER = alt(seq("@", cls("a-zA-Z_"), star(cls("a-zA-Z_0-9"))), seq("#", plus(LETTER)));

// Abbreviations (the words are caseless; a class like [A] keeps one letter case-sensitive).
const C = (c: string) => exact(c);
const ABMONTH = alt("Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec");
const ABDAYS = alt("Mon", "Tue", "Tues", "Wed", "Thu", "Thurs", "Fri");
const ABSTATE = alt(
  "Ala",
  "Ariz",
  seq(C("A"), "z"),
  seq(C("A"), "rk"),
  "Calif",
  "Colo",
  "Conn",
  "Ct",
  "Dak",
  seq(C("D"), "el"),
  "Fla",
  "Ga",
  seq(C("I"), "ll"),
  "Ind",
  seq("Kan", opt("s")),
  "Ky",
  seq(C("L"), "a"),
  seq(C("M"), "ass"),
  "Md",
  "Mich",
  "Minn",
  seq(C("M"), "iss"),
  "Mo",
  "Mont",
  "Neb",
  "Nev",
  "Okla",
  seq(C("O"), "re"),
  seq(C("P"), "a"),
  "Penn",
  "Tenn",
  seq(C("T"), "ex"),
  "Va",
  "Vt",
  seq(C("W"), "ash"),
  seq("Wis", opt("c")),
  "Wyo",
);
const ABCOMP = alt(
  "Inc",
  seq("Co", opt("s")),
  "Corp",
  seq("P", opt("p"), "t", cls("ye"), opt("s")),
  "Ltd",
  "Plc",
  "Rt",
  "Bancorp",
  "Bhd",
  "Assn",
  "Univ",
  "Intl",
  "Sys",
);
const ABNUM = alt("tel", "est", "ext", "sq");
const ABPTIT = alt("Jr", "Sr", "Bros", seq(alt("Ed", "Ph"), ".D"), "Blvd", "Rd", "Esq");
const ABBREV1 = seq(alt(ABMONTH, ABDAYS, ABSTATE, ABCOMP, ABNUM, ABPTIT, "etc", "al", "seq", "Bldg"), ".");
const s0 = (w: string) => seq(w, opt("s"));
const ABTITLE = alt(
  "Mr",
  "Mrs",
  "Ms",
  seq(C("M"), "iss"),
  s0("Dr"),
  s0("Prof"),
  s0("Sen"),
  s0("Rep"),
  s0("Atty"),
  "Lt",
  "Col",
  "Gen",
  "Messrs",
  s0("Gov"),
  "Adm",
  "Rev",
  "Maj",
  "Sgt",
  "Cpl",
  "Pvt",
  "Capt",
  seq("St", opt("e")),
  "Ave",
  "Pres",
  "Lieut",
  "Hon",
  "Brig",
  seq("C", opt("o"), "mdr"),
  "Pfc",
  "Spc",
  s0("Supt"),
  "Det",
  "Mt",
  "Ft",
  "Adj",
  "Adv",
  "Asst",
  "Assoc",
  "Ens",
  "Insp",
  "Mlle",
  "Mme",
  "Msgr",
  "Sfc",
);
const ABCOMP2 = alt("Invt", "Elec", "Natl", seq("M", cls("ft"), "g"), "Dept");
const ABBREV4 = alt(ABTITLE, "vs", "Alex", "Wm", "Jos", "Cie", "a.k.a", "cf", "TREAS", "Ph", ACRO, ABCOMP2);
const ABBREV2 = seq(ABBREV4, ".");
const ACRONYM = seq(ACRO, ".");
const ABBREV3 = seq(alt("ca", s0("fig"), "prop", s0("no"), "art", "bldg", "prop", "pp", "op"), ".");
/** Words after which an acronym's period also ends the sentence (first letter case-sensitive). */
const SENTENCE_STARTERS = [
  "About",
  "According",
  "Additionally",
  "After",
  "An",
  "A",
  "As",
  "At",
  "But",
  "Earlier",
  "He",
  "Her",
  "Here",
  "However",
  "If",
  "In",
  "It",
  "Last",
  "Many",
  "More",
  "Mr.",
  "Ms.",
  "Now",
  "Once",
  "One",
  "Other",
  "Our",
  "She",
  "Since",
  "So",
  "Some",
  "Such",
  "That",
  "The",
  "Their",
  "Then",
  "There",
  "These",
  "They",
  "This",
  "We",
  "When",
  "While",
  "What",
  "Yet",
  "You",
].map((w) => (w.length === 1 ? C(w) : seq(C(w[0]), w.slice(1))));

const d09 = cls("0-9");
const PHONE = alt(
  seq(
    alt(
      seq("(", rep(d09, 2, 3), ")", opt(cls(" \u00A0"))),
      seq(
        opt(seq("+", opt("+"))),
        opt(seq(rep(d09, 2, 4), cls("- \u00A0"))),
        rep(d09, 2, 4),
        cls("- \u00A0"),
      ),
    ),
    rep(d09, 3, 4),
    opt(cls("- \u00A0")),
    rep(d09, 3, 5),
  ),
  seq(
    opt(seq(opt(seq("+", opt("+"))), rep(d09, 2, 4), ".")),
    rep(d09, 2, 4),
    ".",
    rep(d09, 3, 4),
    ".",
    rep(d09, 3, 5),
  ),
);
const FAKEDUCKFEET = alt("<<", ">>");
const LESSTHAN = alt("<", "&lt;");
const GREATERTHAN = alt(">", "&gt;");
const HYPHENS = plus("-");
const LDOTS = alt(rep(".", 3, 5), seq(rep(seq(".", cls(" \u00A0")), 2, 4), "."), cls(u(0x85) + "\u2026"));
const FNMARKS = alt(plus("@"), plus("#"), plus("_"));
const ASTS = alt(plus("*"), rep("\\*", 1, 3));
const INSENTP = cls(",;:\u3001");
const QUOTES = alt(
  APOS,
  "''",
  rep(
    cls(
      "`\u2018\u2019\u201A\u201B\u201C\u201D" + u(0x91) + u(0x92) + u(0x93) + u(0x94) +
        "\u201E\u201F\u2039\u203A\u00AB\u00BB",
    ),
    1,
    2,
  ),
);
const DBLQUOT = alt('"', "&quot;");
const TBSPEC = alt(
  seq("-", alt("RRB", "LRB", "RCB", "LCB", "RSB", "LSB"), "-"),
  "C.D.s",
  "pro-",
  "anti-",
  seq("S", alt("&", "&amp;"), "P-500"),
  seq("S", alt("&", "&amp;"), "Ls"),
  seq("Cap", APOS, "n"),
  seq("c", APOS, "est"),
);
const TBSPEC2 = seq(APOS, d09, d09);
const SMILEY = seq(opt(cls("<>")), cls(":;="), opt(cls("-o*'")), cls("()DPdpO\\{@|[]"));
const SM = "-^x=~<>'";
const ASIANSMILEY = alt(
  // The original writes `[\^x=~<>]\.\[\^x=~<>]`: one class, then the literal text `.[^x=~<>]`.
  seq(cls("^x=~<>"), ".[^x=~<>]"),
  seq(cls(SM), "_", cls(SM)),
  seq("(", cls(SM), opt(cls("_.")), cls(SM), ")"),
  seq("(", cls("^x=~<>'"), "-", cls("^x=~<>'`"), ")"),
);
const MISCSYMBOL = cls(
  "+%&~^|\\\u00A6\u00A7\u00A8\u00A9\u00AC\u00AE\u00AF\u00B0-\u00B3\u00B4-\u00BA\u00D7\u00F7\u0387\u05BE\u05C0" +
    "\u05C3\u05C6\u05F3\u05F4\u0600-\u0603\u0606-\u060A\u060C\u0614\u061B\u061E\u066A\u066D\u0703-\u070D" +
    "\u07F6\u07F7\u07F8\u0964\u0965\u0E4F\u1FBD\u2016\u2017\u2020-\u2023\u2030-\u2038\u203B\u203E-\u2042" +
    "\u2044\u207A-\u207F\u208A-\u208E\u2100-\u214F\u2190-\u21FF\u2200-\u2BFF\u3012\u30FB\uFF01-\uFF0F" +
    "\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65",
);
/** JFlex's `.`: anything but a line terminator. */
const ANY_BUT_NEWLINE = set(complement(chars("\n\r\u000B\u000C\u2028\u2029" + u(0x85))));
const ANY = set([0, 0xffff]);

// ---- normalisations -----------------------------------------------------------------------------------

function removeSoftHyphens(s: string): string {
  if (!s.includes("\u00AD")) return s;
  const out = s.replaceAll("\u00AD", "");
  return out.length === 0 ? "-" : out;
}

function normalizeAmp(s: string): string {
  return s.replace(/&amp;/gi, "&");
}

function parensToPtb(s: string): string {
  return s.replaceAll("(", "-LRB-").replaceAll(")", "-RRB-");
}

function spacesToNbsp(s: string): string {
  return s.replaceAll(" ", "\u00A0");
}

/** PTB3 "LaTeX" quotes; `probablyLeft` decides the direction of straight quotes. */
function latexQuotes(s: string, probablyLeft: boolean): string {
  let out = s.replace(/&apos;|'/g, probablyLeft ? "`" : "'").replace(/"|&quot;/g, probablyLeft ? "``" : "''");
  out = out.replace(/[\u0091\u2018\u201B\u2039]/g, "`").replace(/[\u0092\u2019\u203A]/g, "'");
  return out.replace(/[\u0093\u201C\u00AB]/g, "``").replace(/[\u0094\u201D\u00BB]/g, "''");
}

function normalizeCurrency(s: string): string {
  return s.replaceAll("\u00A2", "cents").replaceAll("\u00A3", "#").replace(
    /[\u0080\u00A4\u20A0\u20AC]/g,
    "$",
  );
}

const FRACTIONS: Record<string, string> = {
  "\u00BC": "1/4",
  "\u00BD": "1/2",
  "\u00BE": "3/4",
  "\u2153": "1/3",
  "\u2154": "2/3",
};

// ---- actions ------------------------------------------------------------------------------------------

const same: Action = (t) => t;
const skip: Action = () => null;
const soft: Action = removeSoftHyphens;
const left: Action = (t) => latexQuotes(t, true);
const right: Action = (t) => latexQuotes(t, false);
const amp: Action = normalizeAmp;
const parens: Action = parensToPtb;
const withPushback = (pushback: number, f: Action = same): Action =>
  Object.assign((t: string) => f(t), { pushback });
/** Abbreviation that ends a sentence: the token keeps its period and the period is read again. */
const periodTwice = withPushback(1);
/** Splits an assimilation ("cannot", "gonna"): the token is the text without its last `n` code units. */
const assimilation = (n: number): Action => withPushback(n, (t) => t.slice(0, t.length - n));
const to = (s: string): Action => () => s;

function rule(re: Re, action: Action, trail?: Re): Rule<Action> {
  return trail ? { re, trail, action } : { re, action };
}

/** The rules of PTBLexer in their original order (YyTraditionalTreebank3 state). */
export const PTB_RULES: readonly Rule<Action>[] = [
  rule(seq("c", "++"), same),
  rule(seq(cls("cCfF"), "#"), same),
  rule(seq("cannot"), assimilation(3)),
  rule(seq("'twas"), assimilation(3)),
  rule(seq("'tis"), assimilation(2)),
  rule(alt("gonna", "gotta", "lemme", "gimme", "wanna"), assimilation(2)),
  rule(SGML, spacesToNbsp),
  rule(SPMDASH, to("--")),
  rule(SPAMP, amp),
  rule(SPPUNC, same),
  rule(WORD, soft, REDAUX),
  rule(SWORD, soft, SREDAUX),
  rule(WORD, soft),
  rule(APOWORD, same),
  rule(APOWORD2, same, letter),
  rule(FULLURL, same),
  rule(LIKELYURL, same),
  rule(EMAIL, same),
  rule(TWITTER, same),
  rule(REDAUX, right, notCls("A-Za-z")),
  rule(SREDAUX, right, notCls("A-Za-z")),
  rule(DATE, same),
  rule(NUMBER, soft),
  rule(SUBSUPNUM, same),
  rule(FRAC, spacesToNbsp),
  rule(FRAC2, (t) => FRACTIONS[t] ?? t),
  rule(TBSPEC, amp),
  rule(THING3, same),
  rule(DOLSIGN, same),
  rule(DOLSIGN2, normalizeCurrency),
  // An acronym before a typical sentence start: "I." gives "I" and "."; longer ones keep their period
  // and the period is also returned as the next token.
  rule(
    ACRONYM,
    Object.assign((t: string) => (t.length === 2 ? t.slice(0, 1) : t), { pushback: 1 }),
    seq(
      SPACENLS,
      alt(...SENTENCE_STARTERS, SGML),
      SPACENL,
    ),
  ),
  rule(ABBREV3, same, seq(opt(SPACENL), digitJ)),
  rule(seq(alt(seq("pt", cls("eyEY")), "co"), "."), same, seq(SPACE, alt("ltd", "lim"))),
  rule(ABBREV1, periodTwice, SENTEND),
  rule(ABBREV1, same, seq(ANY, ANY)),
  rule(ABBREV1, periodTwice),
  rule(ABBREV2, same),
  rule(ABBREV4, same, SPACE),
  rule(ACRO, same, SPACENL),
  rule(TBSPEC2, same, SPACENL),
  rule(FILENAME, same, alt(SPACENL, cls(".?!,"))),
  rule(seq(WORD, "."), soft, INSENTP),
  rule(PHONE, (t) => parensToPtb(spacesToNbsp(t))),
  rule(DBLQUOT, left, cls("A-Za-z0-9$")),
  rule(DBLQUOT, right),
  rule(exact("\u007f"), skip),
  rule(LESSTHAN, to("<")),
  rule(GREATERTHAN, to(">")),
  rule(SMILEY, parens, notCls("A-Za-z0-9")),
  rule(ASIANSMILEY, parens),
  rule(exact("{"), to("-LCB-")),
  rule(exact("}"), to("-RCB-")),
  rule(exact("["), to("-LSB-")),
  rule(exact("]"), to("-RSB-")),
  rule(exact("("), to("-LRB-")),
  rule(exact(")"), to("-RRB-")),
  rule(HYPHENS, (t) => (t.length >= 3 && t.length <= 4 ? "--" : t)),
  rule(LDOTS, to("...")),
  rule(FNMARKS, same),
  rule(ASTS, same),
  rule(INSENTP, same),
  rule(plus(cls("?!")), same),
  rule(cls(".\u00A1\u00BF\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002"), same),
  rule(exact("="), same),
  rule(exact("/"), same),
  rule(seq(HTHING, "."), soft, INSENTP),
  rule(HTHING, soft),
  rule(seq(THING, "."), same, INSENTP),
  rule(THING, same),
  rule(seq(THINGA, "."), amp, INSENTP),
  rule(THINGA, amp),
  rule(exact("'"), left, seq(cls("A-Za-z"), notCls(" \t\n\r\u00A0"))),
  rule(REDAUX, right),
  rule(SREDAUX, right),
  rule(QUOTES, right),
  rule(FAKEDUCKFEET, same),
  rule(MISCSYMBOL, same),
  rule(alt(exact("\u0000"), SPACES, cls("\u200B\u200E\u200F\uFEFF")), skip),
  rule(NEWLINE, to(NEWLINE_TOKEN)),
  rule(seq("&nbsp;"), skip),
  // Untokenizable characters are deleted (option "firstDelete"; the original only logs a warning).
  rule(ANY_BUT_NEWLINE, skip),
];
