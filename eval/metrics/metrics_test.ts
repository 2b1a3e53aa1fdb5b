import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { Rng } from "@vlp/testing";
import { bleu, bleuReference } from "./bleu.ts";
import { CiderD, ciderD } from "./cider.ts";
import { lcsLength, rouge } from "./rouge.ts";

interface Expected {
  metrics: Record<string, number>;
  bleu_counts: { testlen: number; reflen: number; guess: number[]; correct: number[] };
  per_image: Record<string, Record<string, number>>;
  tokenized: Record<string, { refs: string[]; candidate: string }>;
}

function load(name: string): { ids: string[]; cands: string[]; refs: string[][]; exp: Expected } {
  const exp: Expected = JSON.parse(
    Deno.readTextFileSync(fixturePath(`fixtures/metrics/${name}.expected.json`)),
  );
  const ids = Object.keys(exp.tokenized);
  return {
    ids,
    cands: ids.map((id) => exp.tokenized[id].candidate),
    refs: ids.map((id) => exp.tokenized[id].refs),
    exp,
  };
}

function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-9, `${what}: ${actual} vs ${expected}`);
}

for (const name of ["cap_fakecap126", "cap_tricky65"]) {
  Deno.test(`BLEU on tokenized ${name}: counts exact, scores within 1e-9`, () => {
    const { ids, cands, refs, exp } = load(name);
    const r = bleu(cands, refs);
    assert.deepEqual(r.counts, exp.bleu_counts);
    for (let n = 0; n < 4; n++) near(r.score[n], exp.metrics[`Bleu_${n + 1}`], `Bleu_${n + 1}`);
    ids.forEach((id, i) => {
      for (let n = 0; n < 4; n++) {
        near(r.perImage[i][n], exp.per_image[id][`Bleu_${n + 1}`], `${id} Bleu_${n + 1}`);
      }
    });
  });

  Deno.test(`ROUGE-L on tokenized ${name}`, () => {
    const { ids, cands, refs, exp } = load(name);
    const r = rouge(cands, refs);
    near(r.score, exp.metrics.ROUGE_L, "ROUGE_L");
    ids.forEach((id, i) => near(r.perImage[i], exp.per_image[id].ROUGE_L, `${id} ROUGE_L`));
  });

  Deno.test(`CIDEr-D on tokenized ${name}`, () => {
    const { ids, cands, refs, exp } = load(name);
    const r = ciderD(cands, refs);
    near(r.score, exp.metrics.CIDEr, "CIDEr");
    ids.forEach((id, i) => near(r.perImage[i], exp.per_image[id].CIDEr, `${id} CIDEr`));
  });
}

Deno.test("fast BLEU / CIDEr-D (integer n-gram ids) equal their string-keyed twins on random corpora", () => {
  const rng = new Rng(7);
  const vocab = ["a", "dog", "cat", "on", "the", "red", "man", "runs", "in", "park", "ß", "1/2", "a\u00a0b"];
  const sentence = () => {
    const n = rng.int(12);
    return Array.from({ length: n }, () => vocab[rng.int(vocab.length)]).join(" ");
  };
  for (let trial = 0; trial < 20; trial++) {
    const m = 1 + rng.int(30);
    const hyps = Array.from({ length: m }, sentence);
    const refs = hyps.map(() => Array.from({ length: 1 + rng.int(5) }, sentence));
    const fast = bleu(hyps, refs), ref = bleuReference(hyps, refs);
    assert.deepEqual(fast.counts, ref.counts);
    assert.deepEqual(fast.perImage, ref.perImage);
    assert.deepEqual(fast.score, ref.score);
    const cf = ciderD(hyps, refs);
    const twin = CiderD.fromReferences(refs);
    const cr = hyps.map((h, i) => twin.score(h, refs[i]));
    cf.perImage.forEach((v, i) => near(v, cr[i], `trial ${trial} image ${i}`));
  }
});

/** coco-caption's `my_lcs`: the full (len(a)+1) x (len(b)+1) table, the plain twin of `lcsLength`. */
function lcsTable(a: readonly string[], b: readonly string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      t[i][j] = a[i - 1] === b[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
    }
  }
  return t[a.length][b.length];
}

Deno.test("ROUGE-L's LCS: equals the full table on random pairs, and keeps one row on a 2M-word caption", () => {
  const rng = new Rng(11);
  const words = ["a", "dog", "the", "on", "man"];
  const list = (n: number) => Array.from({ length: n }, () => words[rng.int(words.length)]);
  for (let trial = 0; trial < 300; trial++) {
    const a = list(rng.int(40)), b = list(rng.int(40));
    assert.equal(lcsLength(a, b), lcsTable(a, b), `${a.join(" ")} | ${b.join(" ")}`);
  }
  // A full table here would be 2M x 17 numbers (over 130 MB); one row of the shorter side is 68 bytes.
  const long = list(2_000_000), ref = list(16);
  const used = () => {
    const m = Deno.memoryUsage();
    return m.heapUsed + m.external;
  };
  const before = used();
  const n = lcsLength(long, ref);
  assert.ok(used() - before < 32 * 2 ** 20, `${(used() - before) / 2 ** 20} MB`);
  assert.ok(n > 0 && n <= 16);
  assert.equal(lcsLength(ref, long), n);
});
