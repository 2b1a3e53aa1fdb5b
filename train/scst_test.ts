import assert from "node:assert/strict";
import { microConfig, Rng } from "@vlp/testing";
import { CaptionDecoder, SPECIAL_IDS, truncateAtEnd } from "@vlp/decode";
import { CiderD } from "@vlp/eval";
import {
  IncrementalDecoder,
  parseConfig,
  ReferenceBackend,
  type VlpModel,
  VlpModel as Model,
} from "@vlp/model";
import { preprocess } from "./pipeline.ts";
import type { HostBatch } from "./batch_builder.ts";
import {
  arrayToStr,
  doubledBatch,
  doubledDims,
  rewardMask,
  scstStep,
  scstStreams,
  selfCriticalReward,
} from "./scst.ts";

const config = parseConfig({ ...microConfig, vocabSize: 120, hiddenDropout: 0, attentionDropout: 0 });
const R = 3, MAX_LEN_B = 4; // L = R + maxLenB + 3 = 10, T = 5 generation steps, doubled length 14

/** A seq2seq SCST batch (max_pred 0) of captions with the given token ids. */
function batchOf(captions: number[][], seed = 1): HostBatch {
  const rng = new Rng(seed);
  const opts = {
    R,
    maxLenB: MAX_LEN_B,
    maxPred: 0,
    maskProb: 0,
    newSegmentIds: true,
    alwaysTruncateTail: true,
    vocabSize: config.vocabSize,
    special: SPECIAL_IDS,
  };
  const ex = captions.map((c) => preprocess(c, "s2s", rng, opts));
  const B = ex.length;
  const cat = <A extends Int32Array | Uint8Array>(parts: A[], make: (n: number) => A) => {
    const out = make(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  return {
    index: 0,
    examples: Int32Array.from({ length: B }, (_, i) => i),
    s2s: new Uint8Array(B).fill(1),
    regionFeats: rng.fillNormal(new Float32Array(B * R * 6)),
    visPe: rng.fillUniform(new Float32Array(B * R * 4)),
    inputIds: cat(ex.map((e) => e.inputIds), (n) => new Int32Array(n)),
    segmentIds: cat(ex.map((e) => e.segmentIds), (n) => new Int32Array(n)),
    attentionMask: cat(ex.map((e) => e.attentionMask), (n) => new Uint8Array(n)),
  };
}

const model64 = (seed = 3) =>
  new Model({ config, backend: new ReferenceBackend({ precision: "float64" }), seed }) as VlpModel;

Deno.test("arrayToStr / truncateAtEnd / rewardMask follow scst_utils.py and the training loop", () => {
  assert.equal(arrayToStr([5, 6, 102, 0, 0]), "5 6 102 0");
  assert.equal(arrayToStr([5, 6, 7]), "5 6 7");
  assert.equal(arrayToStr([0, 4]), "0");
  const raw = Int32Array.from([5, 6, 102, 9, 9, /**/ 7, 0, 8, 8, 8, /**/ 1, 2, 3, 4, 5]);
  assert.deepEqual([...truncateAtEnd(raw, 3, 102, 0)], [5, 6, 102, 0, 0, 7, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
  // mask: 1 at t = 0, then [seq_{t−1} > 0]: the terminator's step counts, later steps do not
  assert.deepEqual([...rewardMask(truncateAtEnd(raw, 3, 102, 0), 3)], [
    1,
    1,
    1,
    1,
    0,
    1,
    1,
    0,
    0,
    0,
    1,
    1,
    1,
    1,
    1,
  ]);
});

Deno.test("selfCriticalReward(): CIDEr-D of sample minus greedy, one reference, batch df over 2B references", () => {
  const gt = Int32Array.from([5, 6, 7, 102, 0, 0, /**/ 8, 9, 102, 0, 0, 0]);
  const sample = Int32Array.from([5, 6, 7, 102, 0, 0, /**/ 8, 102, 0, 0, 0, 0]);
  const greedy = Int32Array.from([5, 9, 102, 0, 0, 0, /**/ 8, 102, 0, 0, 0, 0]);
  const r = selfCriticalReward(greedy, gt, sample, 2);
  const refs = [["5 6 7 102 0"], ["8 9 102 0"], ["5 6 7 102 0"], ["8 9 102 0"]];
  const cider = CiderD.fromReferences(refs);
  assert.equal(cider.df.refLen, Math.log(4));
  assert.equal(r[0], cider.score("5 6 7 102 0", refs[0]) - cider.score("5 9 102 0", refs[2]));
  assert.ok(r[0] > 0);
  assert.equal(r[1], 0); // sample = greedy
});

Deno.test("the doubled layout gives exactly the logits of incremental decoding under the example's mask", async () => {
  const model = model64();
  const batch = batchOf([[10, 11], [12, 13, 14, 15], [16]]);
  const B = 3, L = 10, { A, T, L2 } = doubledDims(L, R);
  assert.deepEqual([A, T, L2], [5, 5, 14]);
  const rng = new Rng(4);
  const samples = Int32Array.from({ length: B * T }, () => 1 + rng.int(119));
  const d = doubledBatch(batch, samples, R, SPECIAL_IDS.mask);
  const V = config.vocabSize;
  assert.deepEqual([...d.positionIds.subarray(0, L2)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8, 9]);
  const out = model.forward({ ...d, maskedWeights: new Float32Array(B * T).fill(1) });
  const doubled = await model.backend.read(out.mlmScores!); // [B, T, V]
  const inc = new IncrementalDecoder(model, { maxImages: B, maxLength: L });
  const prompt = new Int32Array(B * A);
  for (let b = 0; b < B; b++) prompt.set(batch.inputIds.subarray(b * L, b * L + A), b * A);
  let logits = await model.backend.read(inc.start({
    regionFeats: batch.regionFeats,
    visPe: batch.visPe,
    inputIds: prompt,
    segmentIds: batch.segmentIds,
    attentionMask: batch.attentionMask,
  }));
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      for (let v = 0; v < V; v++) {
        const a = doubled[(b * T + t) * V + v], e = logits[b * V + v];
        assert.ok(Math.abs(a - e) < 1e-9, `b ${b} t ${t} v ${v}: ${a} vs ${e}`);
      }
    }
    if (t + 1 < T) logits = await model.backend.read(inc.step(samples.filter((_, i) => i % T === t)));
  }
});

Deno.test("SCST gradients through the doubled layout equal those of one full forward per generation step", async () => {
  const batch = batchOf([[10, 11], [12, 13, 14, 15]], 7);
  const B = 2, L = 10, { A, T } = doubledDims(L, R);
  const rng = new Rng(8);
  const samples = Int32Array.from({ length: B * T }, () => 1 + rng.int(119));
  const w = Float32Array.from({ length: B * T }, () => rng.normal());
  const n = 7;
  // (a) doubled layout (explicit position ids), on top of gradients already accumulated
  const a = model64();
  const g0 = rng.fillNormal(new Float64Array(a.table.total));
  a.backend.write(a.grads, g0);
  const d = doubledBatch(batch, samples, R, SPECIAL_IDS.mask);
  const lossA = await a.readScalar(
    a.forwardBackward({ ...d, maskedWeights: w }, { normalizer: n, lossScale: 0.5, dropout: false }),
  );
  // (b) step t: [prefix, y₀..yₜ₋₁, MASK] at positions 0..A+t with the example's mask, CE at the MASK
  const b = model64();
  let lossB = 0;
  for (let t = 0; t < T; t++) {
    const Lt = A + t + 1;
    const ids = new Int32Array(B * Lt), seg = new Int32Array(B * Lt), mask = new Uint8Array(B * Lt * Lt);
    for (let e = 0; e < B; e++) {
      for (let i = 0; i < Lt; i++) {
        ids[e * Lt + i] = i < A
          ? batch.inputIds[e * L + i]
          : i < A + t
          ? samples[e * T + i - A]
          : SPECIAL_IDS.mask;
        seg[e * Lt + i] = batch.segmentIds[e * L + i];
        for (let j = 0; j < Lt; j++) mask[(e * Lt + i) * Lt + j] = batch.attentionMask[(e * L + i) * L + j];
      }
    }
    const loss = b.forwardBackward({
      regionFeats: batch.regionFeats,
      visPe: batch.visPe,
      inputIds: ids,
      segmentIds: seg,
      attentionMask: mask,
      maskedPos: Int32Array.from({ length: B }, () => A + t),
      maskedIds: Int32Array.from({ length: B }, (_, e) => samples[e * T + t]),
      maskedWeights: Float32Array.from({ length: B }, (_, e) => w[e * T + t]),
    }, { normalizer: n, lossScale: 0.5, dropout: false });
    lossB += await b.readScalar(loss);
  }
  assert.ok(Math.abs(lossA - lossB) < 1e-12 * Math.max(1, Math.abs(lossB)), `${lossA} vs ${lossB}`);
  const ga = await a.backend.read(a.grads), gb = await b.backend.read(b.grads);
  let maxG = 0;
  for (const x of gb) maxG = Math.max(maxG, Math.abs(x));
  assert.ok(maxG > 1e-3);
  for (let i = 0; i < ga.length; i++) {
    assert.ok(Math.abs(ga[i] - g0[i] - gb[i]) < 1e-10 * maxG, `gradient ${i}: ${ga[i] - g0[i]} vs ${gb[i]}`);
  }
});

Deno.test("scstStep(): greedy baseline, sampled captions, rewards and a finite loss; reproducible", async () => {
  const model = model64(11);
  const before = Float64Array.from(await model.backend.read(model.params));
  const decoder = new CaptionDecoder(model, { maxImages: 3, maxTgtLength: 5 });
  const step = scstStep({ model, decoder, seed: 1, ids: SPECIAL_IDS });
  model.zeroGrad();
  const batch = batchOf([[10, 11], [12, 13, 14, 15], [16]]);
  const out = await step(batch, { epoch: 1, batch: 3, lossScale: 1, dropWorstRatio: 0 });
  assert.ok(Number.isFinite(out.loss));
  assert.ok(Number.isFinite(out.values!.reward));
  assert.deepEqual(await model.backend.read(model.params), before);
  // same RNG states, same result
  const again = model64(11);
  const step2 = scstStep({
    model: again,
    decoder: new CaptionDecoder(again, { maxImages: 3, maxTgtLength: 5 }),
    seed: 1,
    ids: SPECIAL_IDS,
  });
  again.zeroGrad();
  assert.deepEqual(await step2(batch, { epoch: 1, batch: 3, lossScale: 1, dropWorstRatio: 0 }), out);
  assert.deepEqual(await again.backend.read(again.grads), await model.backend.read(model.grads));
});

Deno.test("scstStreams(): a pure function of (seed, epoch, micro-batch), a different stream for each", () => {
  const draw = (seed: number, epoch: number, batch: number) => {
    const s = scstStreams(seed, epoch, batch);
    return [s.sample.nextU32(), s.sample.nextU32(), s.dropout.nextU32()];
  };
  assert.deepEqual(draw(7, 2, 5), draw(7, 2, 5));
  const seen = new Set([draw(7, 2, 5), draw(7, 2, 6), draw(7, 3, 5), draw(8, 2, 5)].map((d) => d.join(",")));
  assert.equal(seen.size, 4);
  const [a, , c] = draw(7, 2, 5);
  assert.notEqual(a, c); // the word stream and the dropout stream differ
});
