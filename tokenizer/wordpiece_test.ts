import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { Vocab, WordpieceTokenizer } from "./mod.ts";
import { referenceWordpiece } from "./reference.ts";

const tiny = Vocab.parse(
  ["[UNK]", "un", "##aff", "##able", "a", "##a", "aa", "😀", "##😀", "x😀"].join("\n"),
  "tiny.txt",
);

Deno.test("WordpieceTokenizer segments greedily, longest match first", () => {
  const wp = new WordpieceTokenizer(tiny);
  assert.deepEqual(wp.tokenize("unaffable"), ["un", "##aff", "##able"]);
  assert.deepEqual(wp.tokenize("unaff"), ["un", "##aff"]);
  assert.deepEqual(wp.tokenize("unafx"), ["[UNK]"]); // one unknown piece makes the whole word [UNK]
  assert.deepEqual(wp.tokenize("aaaaa"), ["aa", "##a", "##a", "##a"]);
  assert.deepEqual(wp.tokenize("x😀😀"), ["x😀", "##😀"]);
  assert.deepEqual(wp.tokenize(""), []);
});

Deno.test("the 100-character limit counts code points, not UTF-16 units", () => {
  const wp = new WordpieceTokenizer(tiny);
  assert.deepEqual(wp.tokenize("😀".repeat(100)), ["😀", ...new Array(99).fill("##😀")]);
  assert.deepEqual(wp.tokenize("😀".repeat(101)), ["[UNK]"]);
  assert.deepEqual(wp.tokenize("a".repeat(101)), ["[UNK]"]);
  const wp3 = new WordpieceTokenizer(tiny, { maxInputCharsPerWord: 3 });
  assert.deepEqual(wp3.tokenize("aaa"), ["aa", "##a"]);
  assert.deepEqual(wp3.tokenize("aaaa"), ["[UNK]"]);
});

Deno.test("WordpieceTokenizer matches the plain reference on random words over the vocabulary's letters", () => {
  const wp = new WordpieceTokenizer(tiny);
  const letters = ["u", "n", "a", "f", "b", "l", "e", "x", "😀", "\ud83d", "#"];
  const rng = new Rng(5);
  for (let k = 0; k < 5000; k++) {
    let w = "";
    for (let i = rng.int(12); i > 0; i--) w += letters[rng.int(letters.length)];
    assert.deepEqual(wp.tokenize(w), referenceWordpiece(w, tiny), JSON.stringify(w));
  }
});

Deno.test("a vocabulary without [UNK] is refused, naming the file", () => {
  assert.throws(
    () => new WordpieceTokenizer(Vocab.parse("a\nb\n", "novocab.txt")),
    /"novocab.txt" has no unknown/,
  );
  const custom = new WordpieceTokenizer(Vocab.parse("<unk>\nb\n", "v.txt"), { unkToken: "<unk>" });
  assert.deepEqual(custom.tokenize("bc"), ["<unk>"]);
});
