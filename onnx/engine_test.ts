import assert from "node:assert/strict";
import { assertClose, randomBatch, Rng } from "@vlp/testing";
import { IncrementalDecoder, type StartInputs } from "@vlp/model";
import { OnnxModel } from "./engine.ts";
import { exportToTemp, sessionConfig, sessionModel } from "./test_utils.ts";
import { hasWebGpuAdapter } from "./runtime.ts";

const TOL = { atol: 1e-4, rtol: 1e-4 };
// onnxruntime-web keeps its wasm instance (and, with threads, its workers) for the whole process
const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "OnnxModel.forward equals VlpModel.forward (sequence, pooled, MLM scores, VQA logits)",
  ...opts,
  fn: async () => {
    const model = sessionModel("vqa2");
    const { dir } = await exportToTemp(model);
    try {
      const onnx = await OnnxModel.load(dir, { threads: 1 });
      const batch = randomBatch(sessionConfig, { B: 3, T: 6, P: 2, mode: "s2s" });
      const ours = model.forward(batch), be = model.backend;
      const got = await onnx.forward(batch);
      assertClose(got.sequenceOutput, await be.read(ours.sequenceOutput), {
        ...TOL,
        name: "sequence_output",
      });
      assertClose(got.pooled, await be.read(ours.pooled), { ...TOL, name: "pooled_output" });
      assertClose(got.mlmScores!, await be.read(ours.mlmScores!), { ...TOL, name: "mlm_scores" });
      assertClose(got.vqaLogits!, await be.read(ours.vqaLogits!), { ...TOL, name: "vqa_logits" });
      assertClose(await onnx.vqaLogits(batch), got.vqaLogits!, { atol: 0, rtol: 0, name: "vqaLogits()" });
      // no masked positions: an empty MLM output is not fetched
      const noMlm = await onnx.forward({ ...batch, maskedPos: undefined });
      assert.equal(noMlm.mlmScores, undefined);
      assertClose(noMlm.sequenceOutput, got.sequenceOutput, { atol: 0, rtol: 0 });
      await onnx.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "OnnxModel rejects VQA inference on an img2txt export and malformed masked positions",
  ...opts,
  fn: async () => {
    const { dir } = await exportToTemp(sessionModel("img2txt"));
    try {
      const onnx = await OnnxModel.load(dir, { threads: 1 });
      const batch = randomBatch(sessionConfig, { B: 2, T: 3, P: 1, mode: "s2s" });
      await assert.rejects(() => onnx.vqaLogits(batch), TypeError);
      await assert.rejects(() => onnx.forward({ ...batch, maskedPos: [1, 2, 3] }), TypeError);
      await onnx.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Start, expand, steps with random tokens and random beam back-pointers: logits of both engines. */
async function compareDecoders(executionProvider: "wasm" | "webgpu", T: number) {
  const model = sessionModel("img2txt", 5);
  const { dir } = await exportToTemp(model);
  try {
    const onnx = await OnnxModel.load(dir, { threads: 1, executionProvider });
    const { regions: R, regionFeatureSize: F, regionGeometrySize: G, vocabSize: V } = sessionConfig;
    const B = 2, W = 3, A = R + 2, L = A + T, rng = new Rng(8);
    const inputs: StartInputs = {
      regionFeats: rng.fillNormal(new Float32Array(B * R * F)),
      visPe: rng.fillUniform(new Float32Array(B * R * G)),
      inputIds: Int32Array.from(
        { length: B * A },
        (_, i) => (i % A === 0 ? 101 : i % A === A - 1 ? 102 : 100),
      ),
      segmentIds: Int32Array.from({ length: B * L }, (_, i) => (i % L < A ? 4 : 5)),
    };
    const ours = new IncrementalDecoder(model, { maxImages: B, maxWidth: W, maxLength: L });
    const theirs = await onnx.decoder({ maxImages: B, maxWidth: W, maxLength: L });
    assert.equal(theirs.vocabSize, V);
    assert.equal(theirs.maxSteps, ours.maxSteps);
    assertClose(await theirs.startLogits(inputs), await ours.startLogits(inputs), { ...TOL, name: "start" });
    ours.expand(W);
    theirs.expand(W);
    for (let t = 1; t < ours.maxSteps; t++) {
      const tokens = Array.from({ length: B * W }, () => 5 + rng.int(V - 5));
      const expected = await ours.stepLogits(tokens);
      assertClose(await theirs.stepLogits(tokens), expected, { ...TOL, name: `step ${t}` });
      assert.equal(theirs.position, ours.position);
      const src = tokens.map((_, n) => Math.floor(n / W) * W + rng.int(W));
      ours.reorder(src);
      theirs.reorder(src);
    }
    assert.throws(() => theirs.reorder([1, 0, 2, 3, 4, 5].map((i) => (i + 3) % 6)), RangeError); // across images
    await assert.rejects(() => theirs.stepLogits(new Int32Array(B * W)), RangeError); // past maxLength
    await onnx.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "OnnxDecoder (wasm) equals IncrementalDecoder through start, expand, step and reorder",
  ...opts,
  fn: () => compareDecoders("wasm", 6),
});

Deno.test({
  name: "OnnxDecoder (webgpu) equals IncrementalDecoder through start, expand, step and reorder",
  ...opts,
  ignore: !(await hasWebGpuAdapter()),
  fn: () => compareDecoders("webgpu", 3), // each new shape compiles shaders: slow on a CPU adapter
});
