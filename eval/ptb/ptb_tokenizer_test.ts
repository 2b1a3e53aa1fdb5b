import assert from "node:assert/strict";
import { fixturePath, Rng } from "@vlp/testing";
import { ptbScanner, ptbTokenize, ptbTokenizeText } from "./ptb_tokenizer.ts";

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

/** Texts that keep some PTBLexer rule alive far beyond the token it finally takes. */
const HOSTILE: Record<string, (n: number) => string> = {
  "e-mail rule (a,a,a,...)": (n) => "a,".repeat(n / 2),
  "SGML rule (<!a<!a...)": (n) => "<!a".repeat(n / 3),
  "URL rules (www.a.www.a...)": (n) => "www.a,".repeat(n / 6),
  "trailing contexts (a'a'...)": (n) => "a'".repeat(n / 2),
  "words": (n) => "a man riding a horse on a beach. ".repeat(n / 33),
};

Deno.test("PTB tokenizer: same tokens with and without the failure memo on hostile and random texts", () => {
  const parts = [
    "a",
    "A",
    "1",
    ".",
    ",",
    "-",
    "'",
    '"',
    "<",
    ">",
    "!",
    "@",
    "&",
    ";",
    " ",
    "<!",
    "www.",
    "U.S.",
    "n't",
  ];
  const rng = new Rng(9);
  const texts = Object.values(HOSTILE).map((f) => f(3000));
  for (let k = 0; k < 300; k++) {
    const unit = Array.from({ length: 1 + rng.int(5) }, () => parts[rng.int(parts.length)]).join("");
    texts.push(unit.repeat(Math.ceil(400 / unit.length)));
  }
  const bad = texts.filter((t) =>
    JSON.stringify(ptbTokenizeText(t)) !== JSON.stringify(ptbTokenizeText(t, { memo: false }))
  );
  assert.deepEqual(bad.map((t) => t.slice(0, 40)), []);
});

Deno.test("PTB tokenizer: hostile texts of 1 MB cost a few DFA steps per character", () => {
  const sc = ptbScanner();
  for (const [name, f] of Object.entries(HOSTILE)) {
    const text = f(1_000_000), before = sc.scanned, t0 = performance.now();
    ptbTokenizeText(text);
    const perChar = (sc.scanned - before) / text.length;
    // Without the memo the first four read text.length / 4 to text.length / 12 characters per character.
    assert.ok(perChar < 10, `${name}: ${perChar.toFixed(1)} DFA steps per character`);
    assert.ok(performance.now() - t0 < 30_000, `${name}: safety net`);
  }
});
