import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { ptbTokenize } from "./ptb_tokenizer.ts";

interface Row {
  i: number;
  input: string;
  java: string;
  coco: string;
}

const rows: Row[] = Deno.readTextFileSync(fixturePath("fixtures/tokenizer/ptb.jsonl")).trim().split("\n")
  .map((l) => JSON.parse(l));

function report(field: "java" | "coco", got: string[]): void {
  const bad = rows.filter((r, k) => got[k] !== r[field]);
  const show = bad.slice(0, 8).map((r) =>
    `#${r.i} ${JSON.stringify(r.input)}\n  got  ${JSON.stringify(got[rows.indexOf(r)])}\n  want ${
      JSON.stringify(r[field])
    }`
  );
  assert.equal(bad.length, 0, `${bad.length} of ${rows.length} lines differ (${field}):\n${show.join("\n")}`);
}

Deno.test("PTB tokenizer reproduces every line of ptb.jsonl (Stanford PTBTokenizer output)", () => {
  // The fixture was tokenized as one file, the lines in order, as coco-caption does.
  report("java", ptbTokenize(rows.map((r) => r.input), { removePunctuation: false }));
});

Deno.test("PTB tokenizer + coco-caption punctuation filter reproduces every line of ptb.jsonl", () => {
  report("coco", ptbTokenize(rows.map((r) => r.input)));
});
