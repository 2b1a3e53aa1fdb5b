import assert from "node:assert/strict";
import { fixturePath, Rng } from "@vlp/testing";
import { BertTokenizer, type Encoding, Vocab } from "./mod.ts";
import { referenceTokenize } from "./reference.ts";

const VOCAB = fixturePath("data/bert-base-uncased-vocab.txt");
const vocab = Vocab.loadSync(VOCAB);
const uncased = new BertTokenizer(vocab, { lowerCase: true });
const cased = new BertTokenizer(vocab, { lowerCase: false });

interface FixtureRow extends Encoding {
  input: string;
}

function readJsonl(rel: string): FixtureRow[] {
  return Deno.readTextFileSync(fixturePath(rel)).split("\n").filter((l) => l !== "").map((l) =>
    JSON.parse(l)
  );
}

for (const [file, tok] of [["wordpiece_uncased", uncased], ["wordpiece_cased_mode", cased]] as const) {
  Deno.test(`encode() matches every line of ${file}.jsonl`, () => {
    const rows = readJsonl(`fixtures/tokenizer/${file}.jsonl`);
    assert.equal(rows.length, 1400);
    const bad: string[] = [];
    for (const [i, row] of rows.entries()) {
      const got = tok.encode(row.input);
      const ok = JSON.stringify(got.tokens) === JSON.stringify(row.tokens) &&
        JSON.stringify(got.ids) === JSON.stringify(row.ids);
      if (!ok) {
        bad.push(`line ${i + 1} ${JSON.stringify(row.input)}: got ${got.tokens} expected ${row.tokens}`);
      }
    }
    assert.equal(
      bad.length,
      0,
      `${bad.length} of ${rows.length} lines differ:\n${bad.slice(0, 5).join("\n")}`,
    );
  });

  Deno.test(`the fast path and the general path agree with the plain reference on ${file}.jsonl`, () => {
    for (const row of readJsonl(`fixtures/tokenizer/${file}.jsonl`)) {
      const ref = referenceTokenize(row.input, vocab, tok.lowerCase);
      assert.deepEqual(tok.tokenize(row.input), ref, row.input);
      // The general path alone (basic tokenizer + trie wordpiece), forced by a trailing non-ASCII space.
      assert.deepEqual(tok.tokenize(row.input + "\u3000"), ref, row.input);
    }
  });
}

Deno.test("examples from the VLP captioning data and corner cases", () => {
  assert.deepEqual(uncased.tokenize("A man riding a wave on top of a surfboard."), [
    "a",
    "man",
    "riding",
    "a",
    "wave",
    "on",
    "top",
    "of",
    "a",
    "surf",
    "##board",
    ".",
  ]);
  assert.deepEqual(cased.tokenize("A man"), ["[UNK]", "man"]); // no "A" in the uncased vocabulary
  // Never-split tokens stay whole (and uppercase) in both modes, but only as whole whitespace tokens.
  assert.deepEqual(uncased.tokenize("[CLS] a [MASK] b [SEP] [X_SEP] [PAD]"), [
    "[CLS]",
    "a",
    "[MASK]",
    "b",
    "[SEP]",
    "[X_SEP]",
    "[PAD]",
  ]);
  // VLP's renames of [unused1..11]; [X_SEP] is never split, [SEP_k] is not on that list.
  assert.deepEqual(uncased.convertTokensToIds(["[X_SEP]", "[SEP_0]", "[SEP_9]", "[unused0]"]), [2, 3, 12, 1]);
  assert.deepEqual(uncased.encode("[X_SEP]").ids, [2]);
  assert.deepEqual(uncased.tokenize("[SEP_0]"), ["[", "sep", "_", "0", "]"]);
  assert.deepEqual(uncased.tokenize("x[MASK] [mask]"), ["x", "[", "mask", "]", "[", "mask", "]"]);
  assert.deepEqual(cased.tokenize("[UNK]\t[MASK]"), ["[UNK]", "[MASK]"]);
  // Control characters vanish (joining the word around them), whitespace of any kind separates.
  assert.deepEqual(uncased.tokenize("sur\u0000f\u200bboard\u00a0dog\u2028cat"), [
    "surf",
    "##board",
    "dog",
    "cat",
  ]);
  assert.deepEqual(uncased.tokenize("Ça\u0301"), ["ca"]); // accents stripped when uncased
  assert.deepEqual(cased.tokenize("naïve"), ["[UNK]"]); // kept (so unknown here) when cased
  // A word of 100 characters is segmented; one of 101 is [UNK].
  assert.equal(uncased.decode(uncased.encode("a".repeat(100)).ids), "a".repeat(100));
  assert.equal(uncased.decode(uncased.encode("é".repeat(100)).ids), "e".repeat(100));
  assert.deepEqual(uncased.tokenize("a".repeat(101)), ["[UNK]"]);
  assert.deepEqual(uncased.tokenize("a中文b"), ["a", "中", "文", "b"]);
  assert.deepEqual(uncased.tokenize(""), []);
  assert.deepEqual(uncased.tokenize(" \t\r\n"), []);
});

/** A random string mixing ASCII, Latin-1, combining marks, CJK, emoji, controls and lone surrogates. */
function randomText(rng: Rng, maxLen: number): string {
  const pools: [number, number][] = [
    [0x20, 0x7e],
    [0x20, 0x7e],
    [0x00, 0x20],
    [0x80, 0x24f],
    [0x300, 0x36f],
    [0x370, 0x52f],
    [0x2000, 0x206f],
    [0x3000, 0x30ff],
    [0x4e00, 0x9fff],
    [0xd800, 0xdfff],
    [0xf900, 0xfaff],
    [0xfff0, 0xffff],
    [0x1f300, 0x1f6ff],
    [0x20000, 0x2a6df],
    [0xe0000, 0x10ffff],
  ];
  const n = rng.int(maxLen + 1);
  let s = "";
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pools[rng.int(pools.length)];
    const cp = lo + rng.int(hi - lo + 1);
    s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
  }
  return s;
}

Deno.test("random unicode strings never throw and match the plain reference", () => {
  const rng = new Rng(2);
  for (let k = 0; k < 3000; k++) {
    const text = randomText(rng, 40);
    for (const tok of [uncased, cased]) {
      const { tokens, ids } = tok.encode(text);
      assert.equal(tokens.length, ids.length);
      assert.deepEqual(tokens, referenceTokenize(text, vocab, tok.lowerCase), JSON.stringify(text));
      assert.equal(typeof tok.decode(ids), "string");
    }
  }
});

Deno.test("random ASCII strings take the fast path and match the plain reference", () => {
  const rng = new Rng(3);
  const words = [
    "A",
    "man",
    "surfboard",
    "[MASK]",
    "[UNK]",
    "[mask]",
    "x",
    "...",
    "don't",
    "##s",
    "\t",
    "\n",
  ];
  for (let k = 0; k < 3000; k++) {
    let text = "";
    const n = rng.int(12);
    for (let i = 0; i < n; i++) {
      text += rng.int(3) === 0 ? String.fromCharCode(rng.int(128)) : words[rng.int(words.length)];
      if (rng.int(2) === 0) text += " ";
    }
    for (const tok of [uncased, cased]) {
      assert.deepEqual(
        tok.tokenize(text),
        referenceTokenize(text, vocab, tok.lowerCase),
        JSON.stringify(text),
      );
    }
  }
});

Deno.test("decode(encode(x)) gives back vocabulary words and sentences of them", () => {
  const rng = new Rng(4);
  const words = vocab.tokens.filter((t) => /^[a-z0-9]+$/.test(t));
  assert.ok(words.length > 20000);
  for (const w of words) assert.equal(uncased.decode(uncased.encode(w).ids), w);
  for (let k = 0; k < 2000; k++) {
    const text = Array.from({ length: 1 + rng.int(10) }, () => words[rng.int(words.length)]).join(" ");
    assert.equal(uncased.decode(uncased.encode(text).ids), text);
    assert.equal(cased.decode(cased.encode(text).ids), text);
  }
  // Words made of several pieces come back glued.
  assert.equal(uncased.decode(uncased.encode("surfboard skateboarders").ids), "surfboard skateboarders");
});

Deno.test("decode() drops control tokens, keeps [UNK]; conversions check their input", () => {
  const ids = uncased.convertTokensToIds([
    "[CLS]",
    "a",
    "surf",
    "##board",
    "[UNK]",
    "[SEP]",
    "[PAD]",
    "[SEP_3]",
  ]);
  assert.equal(uncased.decode(ids), "a surfboard [UNK]");
  assert.equal(
    uncased.decode(ids, { skipSpecialTokens: false }),
    "[CLS] a surfboard [UNK] [SEP] [PAD] [SEP_3]",
  );
  assert.deepEqual(uncased.convertIdsToTokens(ids.slice(0, 2)), ["[CLS]", "a"]);
  assert.throws(() => uncased.convertTokensToIds(["a", "Surf"]), /"Surf" is not in the vocabulary/);
  assert.throws(() => uncased.convertIdsToTokens([5, 30522]), RangeError);
  assert.throws(() => uncased.convertIdsToTokens([-1]), RangeError);
  const short = new BertTokenizer(vocab, { lowerCase: true, maxLen: 2 });
  assert.throws(() => short.convertTokensToIds(["a", "a", "a"]), /more than maxLen 2/);
});

Deno.test("encodeBatch() equals encode() on each text", () => {
  const texts = ["A dog.", "", "naïve café", "Two  cats\n"];
  assert.deepEqual(uncased.encodeBatch(texts), texts.map((t) => uncased.encode(t)));
});

Deno.test("custom never-split tokens work on both paths", () => {
  for (const text of ["<IMG> <img>x [MASK] a<img>", "<Img>\t<IMG>"]) {
    for (const lowerCase of [true, false]) {
      const tok = new BertTokenizer(vocab, { lowerCase, neverSplit: ["<img>", "[MASK]"] });
      const ref = referenceTokenize(text, vocab, lowerCase, ["<img>", "[MASK]"]);
      assert.deepEqual(tok.tokenize(text), ref, text);
      assert.deepEqual(tok.tokenize(text + "\u3000"), ref, text); // general path
    }
  }
  const tok = new BertTokenizer(vocab, { lowerCase: true, neverSplit: ["<img>", "[MASK]"] });
  assert.deepEqual(
    tok.tokenize("<img> a [CLS]"),
    referenceTokenize("<img> a [CLS]", vocab, true, ["<img>", "[MASK]"]),
  );
  assert.deepEqual(tok.tokenize("<img> é"), referenceTokenize("<img> é", vocab, true, ["<img>", "[MASK]"]));
});
