import assert from "node:assert/strict";
import { assertClose, fixturePath, microConfig, Rng } from "@vlp/testing";
import { readNpyFile, toFloat32 } from "@vlp/io";
import { ReferenceBackend } from "./backends/reference.ts";
import { VlpModel } from "./vlp.ts";
import { IncrementalDecoder } from "./incremental.ts";
import { argmaxRows } from "./predict.ts";
import { createBackend } from "./backends/create.ts";
import { createModel } from "./checkpoint.ts";
import { parseConfig, tinyConfig } from "./config.ts";
import { toInt32 } from "./parity.ts";
import { decoderMask } from "./masks.ts";
import type { Batch } from "./batch.ts";

const cfg = microConfig;
const R = cfg.regions, A = R + 2, F = cfg.regionFeatureSize, G = cfg.regionGeometrySize, V = cfg.vocabSize;
const B = 2, T = 5, L = A + T, W = 3, MASK = 4;

function setup() {
  const rng = new Rng(31);
  const model = new VlpModel({
    config: cfg,
    backend: new ReferenceBackend({ precision: "float64" }),
    seed: 4,
  });
  const feats = rng.fillNormal(new Float64Array(B * R * F)),
    visPe = rng.fillUniform(new Float64Array(B * R * G));
  const prompt = Int32Array.from({ length: B * A }, (_, i) => (i % A === 0 ? 1 : i % A === A - 1 ? 3 : 2));
  const seg = Int32Array.from({ length: B * L }, (_, i) => (i % L < A ? 4 : 5));
  return { rng, model, feats, visPe, prompt, seg };
}

/** Logits of the last position by a full forward over each sequence's whole history (no cache). */
async function fullLogits(
  s: ReturnType<typeof setup>,
  images: number[],
  histories: number[][],
): Promise<Float64Array> {
  const N = images.length, len = A + histories[0].length + 1;
  const rf = new Float64Array(N * R * F), vp = new Float64Array(N * R * G);
  const ids = new Int32Array(N * len), seg = new Int32Array(N * len), mask = new Uint8Array(N * len * len);
  const full = decoderMask(L, R);
  for (let n = 0; n < N; n++) {
    const b = images[n];
    rf.set(s.feats.subarray(b * R * F, (b + 1) * R * F), n * R * F);
    vp.set(s.visPe.subarray(b * R * G, (b + 1) * R * G), n * R * G);
    const seq = [...s.prompt.subarray(b * A, (b + 1) * A), ...histories[n], MASK];
    ids.set(seq, n * len);
    seg.set(s.seg.subarray(b * L, b * L + len), n * len);
    for (let i = 0; i < len; i++) mask.set(full.subarray(i * L, i * L + len), (n * len + i) * len);
  }
  const batch: Batch = {
    regionFeats: rf,
    visPe: vp,
    inputIds: ids,
    segmentIds: seg,
    attentionMask: mask,
    maskedPos: new Int32Array(N).fill(len - 1),
    maskedIds: new Int32Array(N).fill(1),
    maskedWeights: new Float64Array(N).fill(1),
  };
  return (await s.model.backend.read(s.model.forward(batch).mlmScores!)) as Float64Array;
}

Deno.test("IncrementalDecoder matches a full forward over each history through start, expand, step and reorder", async () => {
  const s = setup();
  const dec = new IncrementalDecoder(s.model, { maxImages: B, maxWidth: W, maxLength: L });
  const read = async (t: Parameters<typeof s.model.backend.read>[0]) =>
    (await s.model.backend.read(t)) as Float64Array;
  // step 1: the prompt plus [MASK]
  let logits = await read(
    dec.start({ regionFeats: s.feats, visPe: s.visPe, inputIds: s.prompt, segmentIds: s.seg, maskId: MASK }),
  );
  assertClose(logits, await fullLogits(s, [0, 1], [[], []]), { atol: 1e-10, rtol: 1e-10, name: "start" });
  // expand to W beams per image; histories follow the sequences
  dec.expand(W);
  let hist: number[][] = Array.from({ length: B * W }, () => []);
  const images = hist.map((_, n) => Math.floor(n / W));
  for (let t = 1; t < dec.maxSteps; t++) {
    const tokens = hist.map(() => 5 + s.rng.int(V - 5));
    hist = hist.map((h, n) => [...h, tokens[n]]);
    logits = await read(dec.step(tokens));
    assertClose(logits, await fullLogits(s, images, hist), { atol: 1e-10, rtol: 1e-10, name: `step ${t}` });
    // beam back-pointers within each image
    const src = hist.map((_, n) => Math.floor(n / W) * W + s.rng.int(W));
    dec.reorder(src);
    hist = src.map((k) => [...hist[k]]);
  }
  assert.equal(dec.position, L - 1);
  assert.throws(() => dec.step(new Int32Array(B * W)), RangeError);
});

Deno.test("IncrementalDecoder with an explicit decoder mask equals the built-in one; misuse throws", async () => {
  const s = setup();
  const maskFull = new Uint8Array(B * L * L);
  for (let b = 0; b < B; b++) maskFull.set(decoderMask(L, R), b * L * L);
  const runs: Float64Array[] = [];
  for (const attentionMask of [undefined, maskFull]) {
    const dec = new IncrementalDecoder(s.model, { maxImages: B, maxLength: L });
    dec.start({
      regionFeats: s.feats,
      visPe: s.visPe,
      inputIds: s.prompt,
      segmentIds: s.seg,
      attentionMask,
      maskId: MASK,
    });
    runs.push((await s.model.backend.read(dec.step([7, 9]))) as Float64Array);
    assert.throws(() => dec.reorder([1, 0]), RangeError); // across images
    assert.throws(() => dec.expand(2), RangeError); // maxWidth 1
  }
  assertClose(runs[1], runs[0], { atol: 0, rtol: 0 });
  const dec = new IncrementalDecoder(s.model, { maxImages: 1, maxLength: L });
  assert.throws(() => dec.step([1]), RangeError);
  assert.throws(
    () =>
      dec.start({
        regionFeats: s.feats,
        visPe: s.visPe,
        inputIds: s.prompt,
        segmentIds: s.seg,
        maskId: MASK,
      }),
    RangeError,
  );
});

Deno.test("greedy decoding with IncrementalDecoder reproduces the original's ids and scores on vlp-tiny", async () => {
  const dir = fixturePath("fixtures/vlp-tiny");
  const be = createBackend("blas");
  const model = await createModel({ config: tinyConfig, backend: be, checkpoint: `${dir}/model.bin` });
  const arr = (k: string) => readNpyFile(`${dir}/${k}.npy`);
  const inputIds = toInt32(await arr("decode_input_ids"));
  const segmentIds = toInt32(await arr("decode_segment_ids"));
  const attentionMask = toFloat32(await arr("decode_attention_mask"));
  const expectIds = toInt32(await arr("decode_greedy_ids"));
  const expectScores = toFloat32(await arr("decode_greedy_scores"));
  const Bf = inputIds.length / 102, Tf = expectIds.length / Bf;
  const dec = new IncrementalDecoder(model, { maxImages: Bf, maxLength: 102 + Tf });
  let logits = dec.start({
    regionFeats: toFloat32(await arr("region_feats")),
    visPe: toFloat32(await arr("vis_pe")),
    inputIds,
    segmentIds,
    attentionMask,
  });
  const ids = new Int32Array(Bf * Tf), scores = new Float32Array(Bf * Tf);
  for (let t = 0; t < Tf; t++) {
    const host = await be.read(logits);
    const best = argmaxRows(host, tinyConfig.vocabSize);
    for (let b = 0; b < Bf; b++) {
      ids[b * Tf + t] = best[b];
      scores[b * Tf + t] = host[b * tinyConfig.vocabSize + best[b]];
    }
    if (t + 1 < Tf) logits = dec.step(best);
  }
  assert.deepEqual([...ids], [...expectIds]);
  assertClose(scores, expectScores, { atol: 1e-4, rtol: 1e-4, name: "greedy scores" });
});

Deno.test("IncrementalDecoder in train mode: each dropout kind changes the logits, a seed reproduces them, p = 0 is eval", async () => {
  const s = setup();
  const run = async (config: typeof cfg, dropoutRng?: Rng) => {
    const model = new VlpModel({ config, backend: new ReferenceBackend({ precision: "float64" }), seed: 4 });
    const dec = new IncrementalDecoder(model, { maxImages: B, maxWidth: 2, maxLength: L });
    const inp = { regionFeats: s.feats, visPe: s.visPe, inputIds: s.prompt, segmentIds: s.seg, maskId: MASK };
    const out = [[...await model.backend.read(dec.start({ ...inp, dropoutRng }))]];
    dec.expand(2);
    out.push([...await model.backend.read(dec.step([7, 8, 9, 10]))]);
    dec.reorder([1, 1, 2, 3]);
    out.push([...await model.backend.read(dec.step([11, 12, 13, 14]))]);
    return out;
  };
  const evalOut = await run(cfg);
  assert.deepEqual(await run(cfg, new Rng(5)), await run(cfg, new Rng(5)));
  assert.notDeepEqual(await run(cfg, new Rng(5)), await run(cfg, new Rng(6)));
  for (const over of [{ hiddenDropout: 0 }, { attentionDropout: 0 }]) {
    const c = parseConfig({ ...cfg, ...over });
    const t = await run(c, new Rng(5));
    for (let i = 0; i < 3; i++) {
      assert.notDeepEqual(t[i], evalOut[i], `step ${i} with ${JSON.stringify(over)}`);
    }
  }
  assert.deepEqual(
    await run(parseConfig({ ...cfg, hiddenDropout: 0, attentionDropout: 0 }), new Rng(5)),
    evalOut,
  );
});
