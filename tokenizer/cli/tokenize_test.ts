import assert from "node:assert/strict";
import { fixturePath, runCli } from "@vlp/testing";

const VOCAB = fixturePath("data/bert-base-uncased-vocab.txt");

/** Runs the CLI as a subprocess with `input` on stdin. */
const run = (args: string[], input: string) => runCli("tokenizer/cli/tokenize.ts", args, { stdin: input });

for (const [file, flags] of [["wordpiece_uncased", []], ["wordpiece_cased_mode", ["--cased"]]] as const) {
  Deno.test(`the CLI${flags.map((f) => " " + f)} writes one JSON line per input line, matching ${file}.jsonl`, async () => {
    const rows = Deno.readTextFileSync(fixturePath(`fixtures/tokenizer/${file}.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l) as { input: string; tokens: string[]; ids: number[] })
      .filter((r) => !/[\n\r]/.test(r.input));
    const res = await run(["--vocab", VOCAB, ...flags], rows.map((r) => r.input).join("\n") + "\n");
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, rows.length);
    for (const [i, line] of lines.entries()) {
      assert.deepEqual(JSON.parse(line), { tokens: rows[i].tokens, ids: rows[i].ids }, rows[i].input);
    }
    const figures = JSON.parse(res.stderr.trim().split("\n").pop()!);
    assert.equal(figures.lines, rows.length);
  });
}

Deno.test("the CLI handles a last line without newline, CRLF input and the default vocabulary", async () => {
  const res = await run([], "Surfboard.\r\n\nA dog");
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(res.stdout.trim().split("\n").map((l) => JSON.parse(l).tokens), [
    ["surf", "##board", "."],
    [],
    ["a", "dog"],
  ]);
});

Deno.test("the CLI rejects unknown flags and a missing vocabulary with clear messages", async () => {
  const bad = await run(["--vocab", VOCAB, "--lower"], "");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^tokenize: unknown flag --lower \(see --help\)\n$/);
  const missing = await run(["--vocab", "no/such/vocab.txt"], "x\n");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot load the vocabulary ".*no\/such\/vocab.txt"/);
  assert.equal(missing.stdout, "");
});
