import assert from "node:assert/strict";
import { BeamSearch } from "./beam.ts";
import { beamSearch, greedySearch } from "./search.ts";
import { duplicateNgramCandidates } from "./ngram.ts";
import { FakeScorer, logitsOf } from "./test_utils.ts";
import { logSoftmaxRow, topK } from "./scores.ts";

// Vocabulary of the fake scorers: 0 [PAD], 1 = EOS, 2..7 words.
const V = 8, EOS = 1;
/** probabilities from a sparse map (the rest share what is left, equally, EOS included unless listed) */
function dist(spec: Record<number, number>, rest = true): number[] {
  const p = new Array(V).fill(0);
  let used = 0;
  for (const [k, v] of Object.entries(spec)) {
    p[Number(k)] = v;
    used += v;
  }
  const free = [...p.keys()].filter((i) => i !== 0 && !(i in spec));
  if (rest && used < 1) { for (const i of free) p[i] = (1 - used) / free.length; }
  return p;
}
/** float32 log-prob of word w under probs p, as the search computes it */
function lp(p: number[], w: number): number {
  return logSoftmaxRow(logitsOf(p), 0, V, new Float32Array(V))[w];
}
const f32 = Math.fround;
const words = (a: ArrayLike<number>) => [...Array.from(a)];

Deno.test("topK: largest first, ties to the lower index, NaN skipped", () => {
  const idx = new Int32Array(3), val = new Float64Array(3);
  assert.equal(topK([1, 5, 5, NaN, 2, 5], 0, 6, 3, idx, val), 3);
  assert.deepEqual(words(idx), [1, 2, 5]);
  assert.deepEqual(words(val), [5, 5, 5]);
  assert.equal(topK([0, 3, 1, 2], 1, 3, 3, idx, val), 3);
  assert.deepEqual(words(idx), [0, 2, 1]);
});

Deno.test("duplicateNgramCandidates: VLP's rule, the ignore set, n = 1 and n = 2", () => {
  assert.deepEqual(duplicateNgramCandidates([2, 3, 2], 3), []);
  assert.deepEqual(duplicateNgramCandidates([2, 3, 2, 3], 3), [2]);
  assert.deepEqual(duplicateNgramCandidates([2, 3, 4, 2, 3, 5, 2, 3], 3), [4, 5]);
  assert.deepEqual(duplicateNgramCandidates([2, 3], 3), []); // shorter than n
  // a tail word in the ignore set: nothing banned; an ignored word is never banned
  assert.deepEqual(duplicateNgramCandidates([2, 3, 2, 3], 3, new Set([3])), []);
  assert.deepEqual(duplicateNgramCandidates([2, 3, 4, 2, 3, 5, 2, 3], 3, new Set([4])), [5]);
  assert.deepEqual(duplicateNgramCandidates([4, 2, 4], 2), [2]);
  // n = 1: every word so far; the ignore check looks at the whole sequence (Python's seq[-0:])
  assert.deepEqual(duplicateNgramCandidates([5, 2, 5], 1), [2, 5]);
  assert.deepEqual(duplicateNgramCandidates([5, 2, 5], 1, new Set([2])), []);
  assert.throws(() => duplicateNgramCandidates([1], 0), RangeError);
});

// A tree where greedy is fooled: [2] .5 / [3] .4 at step 0, [2] → 4 or 5 (.3 each), [3] → 6 (.9); then EOS.
function trap(_image: number, h: readonly number[]): Float64Array {
  if (h.length === 0) return logitsOf(dist({ 2: 0.5, 3: 0.4, 1: 0.001 }));
  if (h.length === 1 && h[0] === 2) return logitsOf(dist({ 4: 0.3, 5: 0.3, 6: 0.2, 7: 0.19, 1: 0.001 }));
  if (h.length === 1 && h[0] === 3) return logitsOf(dist({ 6: 0.9, 7: 0.09, 1: 0.001 }));
  return logitsOf(dist({ 1: 0.97 }));
}

Deno.test("beam search finds the best sequence greedy misses; scores add in float32", async () => {
  const greedy = await greedySearch(new FakeScorer(1, V, 6, trap), { eosId: EOS });
  assert.deepEqual(words(greedy.ids).slice(0, 3), [2, 4, EOS]);
  assert.equal(greedy.steps, 3); // stopped early after EOS
  assert.deepEqual(words(greedy.ids).slice(3), [0, 0, 0]);

  const scorer = new FakeScorer(1, V, 6, trap);
  const r = await beamSearch(scorer, { width: 2, eosId: EOS });
  assert.deepEqual(words(r.hypotheses[0].tokens), [3, 6, EOS]);
  const p0 = dist({ 2: 0.5, 3: 0.4, 1: 0.001 }),
    p1 = dist({ 6: 0.9, 7: 0.09, 1: 0.001 }),
    p2 = dist({ 1: 0.97 });
  assert.equal(r.hypotheses[0].score, f32(f32(lp(p0, 3) + lp(p1, 6)) + lp(p2, EOS)));
  assert.equal(r.hypotheses[0].frame, 2);
  // step 1 keeps [3,6] and [2,4] ([2,4] and [2,5] tie: the lower candidate index wins)
  assert.deepEqual(words(r.state.stepTokens[1]), [6, 4]);
  assert.deepEqual(words(r.state.stepPointers[1]), [1, 0]);
  assert.equal(r.steps, 3); // all beams ended at step 2: no more steps
  assert.equal(scorer.calls, 3);
});

Deno.test("ties: equal words go to the lower id, equal candidates to the lower beam; no reorder when nothing moves", async () => {
  const fn = (_b: number, h: readonly number[]) =>
    h.length === 0
      ? logitsOf(dist({ 2: 0.5, 3: 0.5 }, false))
      : h.length === 1
      ? logitsOf(dist({ 4: 0.6, 5: 0.4 }, false))
      : logitsOf(dist({ 1: 1 }, false));
  const scorer = new FakeScorer(1, V, 5, fn);
  const r = await beamSearch(scorer, { width: 2, eosId: EOS });
  assert.deepEqual(words(r.state.stepTokens[0]), [2, 3]);
  assert.deepEqual(words(r.state.stepTokens[1]), [4, 4]);
  assert.deepEqual(words(r.state.stepPointers[1]), [0, 1]);
  assert.equal(scorer.reorders, 0);
  assert.deepEqual(words(r.hypotheses[0].tokens), [2, 4, EOS]); // equal final scores: the first beam
});

// EOS is the best first word (.6); the alternative [2] → [2, 3] → EOS has .4 in all.
function eosFirst(_b: number, h: readonly number[]): Float64Array {
  if (h.length === 0) return logitsOf(dist({ 1: 0.6, 2: 0.39 }));
  if (h[h.length - 1] === EOS) return logitsOf(dist({ 5: 0.5 }));
  if (h.length === 1) return logitsOf(dist({ 3: 0.99, 1: 0.0001 }));
  return logitsOf(dist({ 1: 0.99 }));
}

Deno.test("EOS at the first step: a finished beam is pushed out, picked if best; length penalty and min_len change it", async () => {
  const r = await beamSearch(new FakeScorer(1, V, 6, eosFirst), { width: 2, eosId: EOS });
  // step 0: [EOS], [2]; step 1: the finished beam's continuations lose to both of [2]'s
  assert.deepEqual(words(r.state.stepTokens[0]), [EOS, 2]);
  assert.deepEqual(words(r.state.stepPointers[1]), [1, 1]);
  assert.ok(r.state.stepScores[1][1] > -10000);
  assert.deepEqual(words(r.hypotheses[0].tokens), [EOS]);
  assert.equal(r.hypotheses[0].frame, 0);
  // additive length bonus 0.5 per word: log .6 + .5 < log(.39·.99·.99) + 1.5
  const lpRun = await beamSearch(new FakeScorer(1, V, 6, eosFirst), {
    width: 2,
    eosId: EOS,
    lengthPenalty: 0.5,
  });
  assert.deepEqual(words(lpRun.hypotheses[0].tokens), [2, 3, EOS]);
  assert.ok(Math.abs(lpRun.hypotheses[0].score - (lpRun.state.stepScores[2][0] + 1.5)) < 1e-12);
  // min_len 1: EOS forbidden (log-prob set to −10000) at the first step
  const ml = await beamSearch(new FakeScorer(1, V, 6, eosFirst), { width: 2, eosId: EOS, minLen: 1 });
  assert.deepEqual(words(ml.state.stepTokens[0]), [2, 3]);
  assert.deepEqual(words(ml.hypotheses[0].tokens), [2, 3, EOS]);
  // min_len 3 keeps EOS out of steps 0..2: the caption has at least 3 words before it
  const ml3 = await beamSearch(new FakeScorer(1, V, 8, eosFirst), { width: 2, eosId: EOS, minLen: 3 });
  assert.ok(ml3.hypotheses[0].tokens.length >= 4);
  assert.ok(ml3.state.stepTokens.slice(0, 3).every((t) => !t.includes(EOS)));
});

// Image 0 ends after 2 words, image 1 after 4; beams end together (EOS certain at that length).
function staggered(b: number, h: readonly number[]): Float64Array {
  const len = b === 0 ? 2 : 4;
  if (h.includes(EOS)) return logitsOf(dist({ 4: 0.5 }));
  if (h.length >= len) return logitsOf(dist({ 1: 0.999 }));
  const w = 2 + ((h.length + b) % 5);
  return logitsOf(dist({ [w]: 0.5, [2 + ((w + 1) % 6)]: 0.3, 1: 1e-6 }));
}

Deno.test("all beams of all images finished: the early stop gives the results of running every step", async () => {
  for (const W of [1, 2, 3]) {
    const early = new FakeScorer(2, V, 10, staggered), full = new FakeScorer(2, V, 10, staggered);
    const a = await beamSearch(early, { width: W, eosId: EOS });
    const b = await beamSearch(full, { width: W, eosId: EOS, stopEarly: false });
    assert.deepEqual(a.hypotheses, b.hypotheses);
    assert.equal(a.steps, 5); // image 1's beams all end at step 4
    assert.equal(early.calls, 5);
    assert.equal(b.steps, 10);
    assert.ok(a.state.finished && b.state.finished);
    assert.deepEqual(words(a.hypotheses[0].tokens).length, 3);
    assert.deepEqual(words(a.hypotheses[1].tokens).length, 5);
  }
});

Deno.test("batched images decode as they do alone", async () => {
  const fn = (b: number, h: readonly number[]) => {
    const x = new Float64Array(V);
    for (let w = 0; w < V; w++) {
      x[w] = Math.sin(7.1 * w + 3.3 * b + h.reduce((s, t, i) => s + t * (i + 1.7), 0));
    }
    return x;
  };
  const together = await beamSearch(new FakeScorer(3, V, 7, fn), { width: 3, eosId: EOS });
  for (let b = 0; b < 3; b++) {
    const alone = await beamSearch(new FakeScorer(1, V, 7, (_i, h) => fn(b, h)), { width: 3, eosId: EOS });
    assert.deepEqual(alone.hypotheses[0], together.hypotheses[b]);
  }
});

// A model that loves "2 3 2 3 ...": after 2 → 3 (.7), after 3 → 2 (.7), else 4 (.2) / 5 (.1).
function repeater(_b: number, h: readonly number[]): Float64Array {
  const last = h.length ? h[h.length - 1] : 3;
  return logitsOf(dist(last === 2 ? { 3: 0.7, 4: 0.2, 5: 0.09 } : { 2: 0.7, 4: 0.2, 5: 0.09 }));
}

Deno.test("n-gram blocking bans a repeated trigram's word; the ignore set lifts the ban", async () => {
  const plain = await beamSearch(new FakeScorer(1, V, 6, repeater), { width: 1, eosId: EOS });
  assert.deepEqual(words(plain.hypotheses[0].tokens), [2, 3, 2, 3, 2, 3]);
  const blocked = await beamSearch(new FakeScorer(1, V, 6, repeater), {
    width: 1,
    eosId: EOS,
    forbidDuplicateNgrams: true,
    ngramSize: 3,
  });
  // after 2 3 2 3 the trigram (2 3 2) exists: 2 is banned, 4 follows; then (3 4) is new, so 2 is free again
  assert.deepEqual(words(blocked.hypotheses[0].tokens), [2, 3, 2, 3, 4, 2]);
  const ignored = await beamSearch(new FakeScorer(1, V, 6, repeater), {
    width: 1,
    eosId: EOS,
    forbidDuplicateNgrams: true,
    forbidIgnoreIds: [3],
  });
  assert.deepEqual(words(ignored.hypotheses[0].tokens), [2, 3, 2, 3, 2, 3]);
  // uniform logits, bigram blocking: the lowest free id is taken each step
  const bs = new BeamSearch(1, V, { width: 1, eosId: 7, forbidDuplicateNgrams: true, ngramSize: 2 });
  for (let t = 0; t < 5; t++) bs.advance(new Float64Array(V));
  assert.deepEqual(bs.stepTokens.map((t) => t[0]), [0, 0, 1, 0, 2]);
  assert.ok(bs.stepScores[4][0] > -100); // never forced onto a banned word
});

Deno.test("BeamSearch checks its inputs", () => {
  assert.throws(() => new BeamSearch(0, V, { width: 2 }), RangeError);
  assert.throws(() => new BeamSearch(1, V, { width: V + 1 }), RangeError);
  assert.throws(() => new BeamSearch(1, V, { width: 2, ngramSize: 0 }), RangeError);
  const bs = new BeamSearch(2, V, { width: 2 });
  assert.throws(() => bs.advance(new Float64Array(V)), TypeError);
  assert.equal(bs.rows, 2);
  bs.advance(new Float64Array(2 * V));
  assert.equal(bs.rows, 4);
});
