import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { bidirectionalMask, seq2seqMask } from "@vlp/model";
import { numPredictions, type PipelineOptions, preprocess, roundHalfEven, truncateText } from "./pipeline.ts";

const SPECIAL = { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 };
const V = 30522;
const base: PipelineOptions = {
  R: 100,
  maxLenB: 20,
  maxPred: 3,
  maskProb: 0.15,
  newSegmentIds: true,
  alwaysTruncateTail: true,
  vocabSize: V,
  special: SPECIAL,
};
const A = 102; // text start
const caption = (n: number) => Array.from({ length: n }, (_, i) => 2000 + i);

Deno.test("roundHalfEven() is Python 3's round (values printed by Python 3.11)", () => {
  const xs = [0.5, 1.5, 2.5, 3.5, 4.5, 0.49999999999999994, 2.5000000000000004];
  assert.deepEqual(xs.map(roundHalfEven), [0, 2, 2, 4, 4, 0, 3]);
});

Deno.test("numPredictions() matches Python's min(max_pred, max(1, int(round(n·p)))) for every length", () => {
  // Python 3.11: [min(3, max(1, int(round(n*0.15)))) for n in range(41)]
  const py015 = [
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    1,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
  ];
  assert.deepEqual(Array.from({ length: 41 }, (_, n) => numPredictions(n, 0.15, 3)), py015);
  // [int(round(n*0.15)) for n in range(41)]: 10·0.15 = 1.5 → 2 and 30·0.15 = 4.5 → 4 (half to even)
  const raw015 = [
    0,
    0,
    0,
    0,
    1,
    1,
    1,
    1,
    1,
    1,
    2,
    2,
    2,
    2,
    2,
    2,
    2,
    3,
    3,
    3,
    3,
    3,
    3,
    3,
    4,
    4,
    4,
    4,
    4,
    4,
    4,
    5,
    5,
    5,
    5,
    5,
    5,
    6,
    6,
    6,
    6,
  ];
  assert.deepEqual(
    Array.from({ length: 41 }, (_, n) => numPredictions(n, 0.15, 100) === Math.max(1, raw015[n])),
    Array(41).fill(true),
  );
  // [int(round(n*0.25)) for n in range(21)]: 0.5 → 0, 2.5 → 2, 4.5 → 4
  const raw025 = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5];
  assert.deepEqual(
    Array.from({ length: 21 }, (_, n) => numPredictions(n, 0.25, 100)),
    raw025.map((x) => Math.max(1, x)),
  );
  // VQA: max_pred 1, mask_prob 0 → always exactly 1; max_pred 0 → none
  for (let n = 0; n < 25; n++) assert.equal(numPredictions(n, 0, 1), 1);
  assert.equal(numPredictions(12, 0.15, 0), 0);
});

Deno.test("preprocess() lays out [CLS] regions [SEP] text [SEP] padding, segments per mode, and VLP's masks", () => {
  const toks = caption(5);
  for (const mode of ["s2s", "bi"] as const) {
    for (const newSegmentIds of [true, false]) {
      const ex = preprocess(toks, mode, new Rng(1), { ...base, maxPred: 0, newSegmentIds });
      const L = 123;
      assert.equal(ex.inputIds.length, L);
      assert.equal(ex.inputIds[0], SPECIAL.cls);
      assert.ok(ex.inputIds.subarray(1, 101).every((v) => v === SPECIAL.unk));
      assert.equal(ex.inputIds[101], SPECIAL.sep);
      assert.deepEqual([...ex.inputIds.subarray(A, A + 5)], toks); // maxPred 0: nothing masked
      assert.equal(ex.inputIds[A + 5], SPECIAL.sep);
      assert.ok(ex.inputIds.subarray(A + 6).every((v) => v === 0));
      const [s0, s1] = newSegmentIds && mode === "s2s" ? [4, 5] : [0, 1];
      assert.ok(ex.segmentIds.subarray(0, A).every((v) => v === s0));
      assert.ok(ex.segmentIds.subarray(A, A + 6).every((v) => v === s1));
      assert.ok(ex.segmentIds.subarray(A + 6).every((v) => v === 0));
      const expected = (mode === "s2s" ? seq2seqMask : bidirectionalMask)({ L, R: 100, textLength: 6 });
      assert.deepEqual(ex.attentionMask, expected);
      assert.equal(ex.maskedPos.length, 0);
    }
  }
});

Deno.test("truncateText(): the tail with always_truncate_tail, otherwise a window cut from both ends at random", () => {
  const t = caption(30);
  assert.deepEqual(truncateText(t, 20, true, new Rng(1)), t.slice(0, 20));
  const rng = new Rng(7);
  let front = 0;
  const draws = 2000;
  for (let i = 0; i < draws; i++) {
    const cut = truncateText(t, 20, false, rng);
    assert.equal(cut.length, 20);
    const start = cut[0] - 2000;
    assert.deepEqual(cut, t.slice(start, start + 20));
    front += start;
  }
  // each of the 10 removals is from the front with probability 0.5: mean start 5, std of the mean 1.58/√2000
  assert.ok(Math.abs(front / draws - 5) < 0.2, `mean front cut ${front / draws}`);
  assert.deepEqual(truncateText(caption(4), 20, false, rng), caption(4));
});

Deno.test("candidates: every text position and the final [SEP], never [CLS], regions or the first [SEP]", () => {
  const n = 6, draws = 21000;
  const counts = new Map<number, number>();
  const rng = new Rng(11);
  for (let d = 0; d < draws; d++) {
    const ex = preprocess(caption(n), "s2s", rng, { ...base, maxPred: 1 });
    assert.equal(ex.nPred, 1);
    counts.set(ex.maskedPos[0], (counts.get(ex.maskedPos[0]) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [102, 103, 104, 105, 106, 107, 108]); // 108 = final [SEP]
  for (const [pos, c] of counts) {
    // uniform over 7 candidates: p = 1/7, std of a count √(N·p·(1−p)) ≈ 51; allow 5 std
    assert.ok(Math.abs(c - draws / 7) < 260, `position ${pos}: ${c} of ${draws}`);
  }
  // with as many predictions as candidates, exactly the candidate set is masked, without repeats
  const all = preprocess(caption(n), "bi", new Rng(2), { ...base, maxPred: 20, maskProb: 1 });
  assert.equal(all.nPred, 6); // round(6·1) = 6 (the 7th candidate stays: n_pred counts the text only)
  const pos = [...all.maskedPos.subarray(0, 6)].sort((a, b) => a - b);
  assert.equal(new Set(pos).size, 6);
  assert.ok(pos.every((p) => p >= A && p <= A + n));
  // a literal [CLS] id inside the text is never a candidate
  const withCls = [2000, SPECIAL.cls, 2001];
  for (let d = 0; d < 300; d++) {
    const ex = preprocess(withCls, "s2s", rng, { ...base, maxPred: 3, maskProb: 1 });
    assert.ok(![...ex.maskedPos.subarray(0, ex.nPred)].includes(A + 1));
  }
});

Deno.test("80/10/10: [MASK] 80%, a random id of the whole vocabulary 10%, unchanged 10%, over many draws", () => {
  const rng = new Rng(3);
  let mask = 0, random = 0, same = 0, lowIds = 0, total = 0;
  const draws = 30000;
  for (let d = 0; d < draws; d++) {
    const ex = preprocess(caption(20), "s2s", rng, base); // n_pred = round(3.0) = 3
    assert.equal(ex.nPred, 3);
    for (let k = 0; k < 3; k++) {
      const p = ex.maskedPos[k], orig = ex.maskedIds[k], now = ex.inputIds[p];
      assert.equal(ex.maskedWeights[k], 1);
      total++;
      if (now === SPECIAL.mask) mask++;
      else if (now === orig) same++;
      else {
        random++;
        if (now < 1000) lowIds++; // [PAD], [unused*], [UNK], [CLS], [SEP], [MASK] … are drawn too
      }
      // the target is the original token
      assert.equal(orig, p < A + 20 ? 2000 + p - A : SPECIAL.sep);
    }
  }
  const sd = (p: number) => Math.sqrt((p * (1 - p)) / total);
  // a random draw can hit [MASK] or the original id (2/V), negligible against the tolerance
  assert.ok(Math.abs(mask / total - 0.8) < 5 * sd(0.8), `mask ${mask / total}`);
  assert.ok(Math.abs(random / total - 0.1) < 5 * sd(0.1), `random ${random / total}`);
  assert.ok(Math.abs(same / total - 0.1) < 5 * sd(0.1), `same ${same / total}`);
  // ids below 1000 make up 1000/V of the random draws
  const pLow = 1000 / V;
  assert.ok(
    Math.abs(lowIds / random - pLow) < 5 * Math.sqrt((pLow * (1 - pLow)) / random),
    `low ${lowIds / random}`,
  );
});

Deno.test("VQA's --max_pred 1 --mask_prob 0: one question token (or the final [SEP]) is always corrupted", () => {
  const rng = new Rng(5);
  const q = caption(4);
  const seen = new Set<number>();
  let corrupted = 0;
  const draws = 4000;
  for (let d = 0; d < draws; d++) {
    const ex = preprocess(q, "bi", rng, { ...base, maxPred: 1, maskProb: 0 });
    assert.equal(ex.nPred, 1);
    assert.equal(ex.maskedWeights[0], 1);
    seen.add(ex.maskedPos[0]);
    if (ex.inputIds[ex.maskedPos[0]] !== ex.maskedIds[0]) corrupted++;
    assert.ok(ex.segmentIds.subarray(0, A).every((v) => v === 0)); // bidirectional: 0/1
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [102, 103, 104, 105, 106]);
  assert.ok(Math.abs(corrupted / draws - 0.9) < 0.03, `corrupted ${corrupted / draws}`);
  // evaluation (max_pred 0): nothing masked
  const ev = preprocess(q, "bi", rng, { ...base, maxPred: 0, maskProb: 0 });
  assert.equal(ev.nPred, 0);
  assert.deepEqual([...ev.inputIds.subarray(A, A + 4)], q);
});

Deno.test("preprocess() is a pure function of tokens, mode and RNG state", () => {
  const a = preprocess(caption(25), "s2s", new Rng(42), { ...base, alwaysTruncateTail: false });
  const b = preprocess(caption(25), "s2s", new Rng(42), { ...base, alwaysTruncateTail: false });
  assert.deepEqual(a, b);
  assert.equal(a.textLength, 20);
});
