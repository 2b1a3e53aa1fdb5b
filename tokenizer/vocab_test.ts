import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { VLP_RENAMES, Vocab } from "./mod.ts";

Deno.test("the BERT uncased vocabulary loads with VLP's renames, ids = line numbers", async () => {
  const vocab = await Vocab.load(fixturePath("data/bert-base-uncased-vocab.txt"));
  assert.equal(vocab.size, 30522);
  assert.deepEqual(
    [0, 1, 2, 3, 12, 13, 100, 101, 102, 103].map((i) => vocab.token(i)),
    [
      "[PAD]",
      "[unused0]",
      "[X_SEP]",
      "[SEP_0]",
      "[SEP_9]",
      "[unused12]",
      "[UNK]",
      "[CLS]",
      "[SEP]",
      "[MASK]",
    ],
  );
  assert.equal(vocab.id("[X_SEP]"), 2);
  assert.equal(vocab.id("[unused1]"), undefined);
  assert.equal(vocab.id("##board"), 6277);
  assert.equal(VLP_RENAMES.size, 11);
  const plain = Vocab.loadSync(fixturePath("data/bert-base-uncased-vocab.txt"), new Map());
  assert.equal(plain.token(2), "[unused1]");
});

Deno.test("Vocab.parse accepts CRLF, CR, a missing final newline, surrounding spaces and a BOM", () => {
  assert.deepEqual(Vocab.parse("a\r\nb\rc \n d", "x").tokens, ["a", "b", "c", "d"]);
  const bom = new TextEncoder().encode("\ufeffa\nb\n");
  assert.deepEqual(Vocab.decode(bom, "x").tokens, ["a", "b"]);
});

Deno.test("malformed vocabularies give errors naming the file and line", () => {
  assert.throws(() => Vocab.parse("", "empty.txt"), {
    name: "SyntaxError",
    message: /"empty.txt": the file is empty/,
  });
  assert.throws(() => Vocab.parse("\n", "nl.txt"), /"nl.txt": line 1 is blank/);
  assert.throws(() => Vocab.parse("a\n\nb\n", "gap.txt"), /"gap.txt": line 2 is blank/);
  assert.throws(
    () => Vocab.parse("a\nb c\n", "sp.txt"),
    /"sp.txt": line 2 holds whitespace inside the token "b c"/,
  );
  assert.throws(
    () => Vocab.parse("a\nb\na\n", "dup.txt"),
    /"dup.txt": line 3 repeats the token "a" of line 1/,
  );
  assert.throws(() => Vocab.parse("[X_SEP]\n[unused1]\n", "ren.txt"), /line 2 repeats the token "\[X_SEP\]"/);
  assert.throws(
    () => Vocab.decode(new Uint8Array([0x61, 0xff, 0x0a]), "bin.txt"),
    /"bin.txt": the file is not valid UTF-8/,
  );
  assert.throws(() => Vocab.parse("a\n", "one.txt").token(1), {
    name: "RangeError",
    message: /"one.txt" \(0..0\)/,
  });
});

Deno.test("a missing vocabulary file is reported with its path", () => {
  assert.throws(() => Vocab.loadSync("no/such/vocab.txt"), /no\/such\/vocab.txt/);
});
