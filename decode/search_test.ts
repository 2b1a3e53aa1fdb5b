import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { greedySearch, padSequences, sampleSearch, truncateAtEnd } from "./search.ts";
import { FakeScorer, logitsOf } from "./test_utils.ts";
import { argmaxRow, logProbAt, logSoftmaxRow, sampleRow } from "./scores.ts";

const V = 6, EOS = 1;

// Image b writes 2, 3, ... and ends with EOS after b + 2 words; after EOS it goes on with 5.
function counting(b: number, h: readonly number[]): Float64Array {
  const x = new Float64Array(V).fill(-1);
  if (h.includes(EOS)) x[5] = 2;
  else if (h.length >= b + 2) x[EOS] = 3;
  else x[2 + (h.length % 3)] = 1 + 0.25 * h.length;
  return x;
}

Deno.test("greedy: argmax ids and the max logit as score, all steps without the early stop", async () => {
  const full = await greedySearch(new FakeScorer(2, V, 6, counting), { eosId: EOS, stopEarly: false });
  assert.deepEqual([...full.ids], [2, 3, EOS, 5, 5, 5, 2, 3, 4, EOS, 5, 5]);
  assert.deepEqual([...full.scores], [1, 1.25, 3, 2, 2, 2, 1, 1.25, 1.5, 3, 2, 2]);
  assert.equal(full.steps, 6);
  // early stop: same up to each EOS, zeros after the last step run
  const scorer = new FakeScorer(2, V, 6, counting);
  const early = await greedySearch(scorer, { eosId: EOS });
  assert.equal(early.steps, 4);
  assert.equal(scorer.calls, 4);
  assert.deepEqual([...early.ids], [2, 3, EOS, 5, 0, 0, 2, 3, 4, EOS, 0, 0]);
  assert.deepEqual([...early.scores], [1, 1.25, 3, 2, 0, 0, 1, 1.25, 1.5, 3, 0, 0]);
});

Deno.test("greedy: [PAD] also ends a sequence for the early stop", async () => {
  const fn = (_b: number, h: readonly number[]) =>
    logitsOf(h.length < 2 ? [0, 0, 0.9, 0, 0, 0.1] : [1, 0, 0, 0, 0, 0]);
  const r = await greedySearch(new FakeScorer(1, V, 8, fn), { eosId: EOS, padId: 0 });
  assert.equal(r.steps, 3);
  assert.deepEqual([...r.ids].slice(0, 3), [2, 2, 0]);
});

Deno.test("sampling: seeded and reproducible, log-prob of the drawn word, frequencies follow softmax", async () => {
  const probs = [0, 0.05, 0.5, 0.3, 0.1, 0.05];
  const fn = () => logitsOf(probs);
  const run = (seed: number) =>
    sampleSearch(new FakeScorer(4, V, 5, fn), { eosId: 99, padId: 99, rng: new Rng(seed) });
  const a = await run(7), b = await run(7), c = await run(8);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.ids, c.ids);
  for (let i = 0; i < a.ids.length; i++) {
    assert.equal(a.scores[i], Math.fround(Math.log(probs[a.ids[i]])));
  }
  // 20000 draws from one row: each frequency within 4 standard deviations
  const rng = new Rng(3), x = logitsOf(probs), counts = new Array(V).fill(0), n = 20000;
  for (let i = 0; i < n; i++) counts[sampleRow(x, 0, V, rng)]++;
  assert.equal(counts[0], 0); // zero probability: never drawn
  probs.forEach((p, j) => assert.ok(Math.abs(counts[j] / n - p) <= 4 * Math.sqrt((p * (1 - p)) / n) + 1e-12));
});

Deno.test("row helpers: log-softmax in float32, argmax first on ties, padding", () => {
  const x = [1, 3, 3, -2];
  assert.equal(argmaxRow(x, 0, 4), 1);
  const ls = logSoftmaxRow(x, 0, 4, new Float32Array(4));
  const lse = 3 + Math.log(Math.exp(-2) + 2 + Math.exp(-5));
  assert.deepEqual([...ls], x.map((v) => Math.fround(v - lse)));
  assert.equal(logProbAt(x, 0, 4, 3), ls[3]);
  assert.deepEqual([...padSequences([[5, 6], [7]], 3)], [5, 6, 0, 7, 0, 0]);
  assert.throws(() => padSequences([[1, 2, 3, 4]], 3), RangeError);
});

Deno.test("truncateAtEnd: SCST's post-processing keeps [SEP], stops at [PAD], zeroes the rest", () => {
  const ids = Int32Array.from([5, 102, 7, 8, 5, 6, 0, 9, 5, 6, 7, 8]);
  assert.deepEqual([...truncateAtEnd(ids, 3)], [5, 102, 0, 0, 5, 6, 0, 0, 5, 6, 7, 8]);
  assert.throws(() => truncateAtEnd(ids, 5), TypeError);
});
