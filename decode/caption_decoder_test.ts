import assert from "node:assert/strict";
import { microConfig, Rng } from "@vlp/testing";
import { IncrementalDecoder, parseConfig, ReferenceBackend, type VlpConfig, VlpModel } from "@vlp/model";
import { CaptionDecoder } from "./caption_decoder.ts";
import { decodeLayout } from "./layout.ts";
import { beamSearch } from "./search.ts";
import { BiasedScorer, FakeScorer } from "./test_utils.ts";

// A micro model (float64) with its own special ids: [PAD] 0, [CLS] 1, [UNK] 2, [SEP] 3, [MASK] 4.
const micro = (over: Partial<VlpConfig> = {}) => parseConfig({ ...microConfig, vocabSize: 30, ...over });
const ids = { pad: 0, cls: 1, unk: 2, sep: 3, mask: 4 };
const T = 8;

function setup(B: number, config = micro()) {
  const model = new VlpModel({ config, backend: new ReferenceBackend({ precision: "float64" }), seed: 11 });
  const rng = new Rng(5);
  const { regions: R, regionFeatureSize: F, regionGeometrySize: G } = config;
  const images = {
    regionFeats: rng.fillNormal(new Float64Array(B * R * F)),
    visPe: rng.fillUniform(new Float64Array(B * R * G)),
  };
  const one = (b: number) => ({
    regionFeats: images.regionFeats.subarray(b * R * F, (b + 1) * R * F),
    visPe: images.visPe.subarray(b * R * G, (b + 1) * R * G),
  });
  return { model, images, one };
}

Deno.test("CaptionDecoder greedy: a batch decodes as each image alone", async () => {
  const B = 3, s = setup(B);
  const dec = new CaptionDecoder(s.model, { maxImages: B, maxTgtLength: T, ids });
  const all = await dec.greedy(s.images, { stopEarly: false });
  assert.equal(all.ids.length, B * T);
  for (let b = 0; b < B; b++) {
    const alone = await dec.greedy(s.one(b), { stopEarly: false });
    assert.deepEqual([...alone.ids], [...all.ids.subarray(b * T, (b + 1) * T)]);
    for (let t = 0; t < T; t++) assert.ok(Math.abs(alone.scores[t] - all.scores[b * T + t]) < 1e-6);
  }
});

Deno.test("CaptionDecoder beam: the cached, reordered search equals scoring every history from scratch", async () => {
  const B = 2, W = 3, s = setup(B);
  const dec = new CaptionDecoder(s.model, { maxImages: B, maxWidth: W, maxTgtLength: T, ids });
  const fast = await dec.beam(s.images, { width: W, eosId: ids.sep, lengthPenalty: 0.3 });
  // oracle: a fresh incremental decode of each image along each history, no expand/reorder
  const fresh = new IncrementalDecoder(s.model, { maxImages: 1, maxLength: 5 + T });
  const lay = decodeLayout({ images: 1, regions: 3, maxTgtLength: T, ids });
  const oracle = new FakeScorer(B, 30, T, async (b, h) => {
    let x = fresh.start({
      ...s.one(b),
      inputIds: lay.inputIds,
      segmentIds: lay.segmentIds,
      maskId: ids.mask,
    });
    for (const w of h) x = fresh.step([w]);
    return await s.model.backend.read(x);
  });
  const slow = await beamSearch(oracle, { width: W, eosId: ids.sep, lengthPenalty: 0.3 });
  assert.deepEqual(fast.hypotheses.map((h) => [...h.tokens]), slow.hypotheses.map((h) => [...h.tokens]));
  for (let b = 0; b < B; b++) assert.ok(Math.abs(fast.hypotheses[b].score - slow.hypotheses[b].score) < 1e-5);
});

Deno.test("model beam search with the early stop equals running all steps", async () => {
  const B = 3, W = 3, s = setup(B);
  const dec = new CaptionDecoder(s.model, { maxImages: B, maxWidth: W, maxTgtLength: T, ids });
  // from the 4th step on, [SEP] gets +30: every beam of every image ends there
  const eosLate = (step: number, V: number) => {
    if (step < 3) return null;
    const b = new Float64Array(V);
    b[ids.sep] = 30;
    return b;
  };
  const opts = { width: W, eosId: ids.sep, forbidDuplicateNgrams: true, ngramSize: 2 };
  const early = new BiasedScorer(dec.scorer(s.images), eosLate);
  const a = await beamSearch(early, opts);
  const b = await beamSearch(new BiasedScorer(dec.scorer(s.images), eosLate), { ...opts, stopEarly: false });
  assert.equal(a.steps, 4);
  assert.equal(early.calls, 4);
  assert.equal(b.steps, T);
  assert.deepEqual(a.hypotheses, b.hypotheses);
  assert.ok(a.hypotheses.every((h) => h.tokens.length === 4 && h.tokens[3] === ids.sep));
});

Deno.test("sampling in train mode: reproducible from its seeds, dropout changes it, p = 0 equals eval mode", async () => {
  const B = 2, s = setup(B);
  const dec = new CaptionDecoder(s.model, { maxImages: B, maxTgtLength: T, ids });
  const run = (dropSeed?: number) =>
    dec.sample(s.images, {
      rng: new Rng(9),
      dropoutRng: dropSeed === undefined ? undefined : new Rng(dropSeed),
      stopEarly: false,
    });
  const evalMode = await run(), a = await run(1), b = await run(1), c = await run(2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.scores, evalMode.scores);
  assert.notDeepEqual(a.scores, c.scores);
  // with dropout probabilities 0, train mode is eval mode
  const z = setup(B, micro({ hiddenDropout: 0, attentionDropout: 0 }));
  const zdec = new CaptionDecoder(z.model, { maxImages: B, maxTgtLength: T, ids });
  const zEval = await zdec.sample(z.images, { rng: new Rng(9), stopEarly: false });
  const zTrain = await zdec.sample(z.images, { rng: new Rng(9), dropoutRng: new Rng(3), stopEarly: false });
  assert.deepEqual(zTrain, zEval);
  // scores are the log-probs of the drawn words: ≤ 0
  assert.ok([...a.scores].every((v) => v <= 0));
});

Deno.test("SCST-style decode: 21 steps, an explicit mask equal to the default gives the same result", async () => {
  const B = 2, s = setup(B), T21 = 9; // L = 5 + 9 = 14 ≤ maxPositions
  const dec = new CaptionDecoder(s.model, { maxImages: B, maxTgtLength: T21, ids });
  const lay = decodeLayout({ images: B, regions: 3, maxTgtLength: T21, ids });
  const a = await dec.greedy(s.images, { stopEarly: false });
  const b = await dec.greedy({ ...s.images, attentionMask: lay.attentionMask, segmentIds: lay.segmentIds }, {
    stopEarly: false,
  });
  assert.deepEqual(a, b);
  assert.equal(a.ids.length, B * T21);
  assert.throws(() => dec.scorer({ regionFeats: new Float64Array(7), visPe: s.images.visPe }), RangeError);
  await assert.rejects(() => dec.beam(s.images, { width: 2 }), RangeError); // maxWidth 1
});
