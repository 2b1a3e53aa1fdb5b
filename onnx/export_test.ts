import assert from "node:assert/strict";
import { join } from "node:path";
import { assertClose, fixturePath, randomBatch } from "@vlp/testing";
import { bertBaseConfig, createBackend, IncrementalDecoder, type StartInputs, VlpModel } from "@vlp/model";
import { decodeModel } from "./graph_builder.ts";
import { exportOnnx, MANIFEST_FILE, readOnnxManifest } from "./export.ts";
import { OnnxModel } from "./engine.ts";
import { ensureFixtureExport } from "./parity.ts";
import { exportToTemp, sessionConfig, sessionModel } from "./test_utils.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "the vlp-tiny fixture checkpoint exports, and both graphs load in onnxruntime-web with the manifest's signature",
  ...opts,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-" });
    try {
      assert.equal(await ensureFixtureExport(fixturePath("fixtures/vlp-tiny"), dir), true);
      assert.equal(await ensureFixtureExport(fixturePath("fixtures/vlp-tiny"), dir), false); // not again
      const m = await readOnnxManifest(dir);
      assert.equal(m.task, "vqa2");
      assert.equal(m.opset, 17);
      assert.equal(m.config.hiddenSize, 32);
      const onnx = await OnnxModel.load(dir, { threads: 1 });
      for (const which of ["encoder", "decoder"] as const) {
        const s = await onnx.session(which);
        assert.deepEqual([...s.inputNames], m.io[which].inputs.map((i) => i.name));
        assert.deepEqual([...s.outputNames], m.io[which].outputs.map((o) => o.name));
      }
      assert.deepEqual(m.io.encoder.outputs.map((o) => o.name), [
        "sequence_output",
        "pooled_output",
        "mlm_scores",
        "vqa_logits",
      ]);
      assert.deepEqual(m.io.decoder.outputs.map((o) => o.name), [
        "logits",
        ...[0, 1].flatMap((l) => [`present_key.${l}`, `present_value.${l}`]),
      ]);
      assert.deepEqual(m.io.decoder.inputs.slice(6, 10).map((o) => o.name), [
        "prefix_key.0",
        "prefix_value.0",
        "past_key.0",
        "past_value.0",
      ]);
      // initializers are named after the state_dict keys (q/k/v packed as one "qkv" tensor)
      const g = decodeModel(await Deno.readFile(join(dir, m.files.encoder))).graph!;
      const names = new Set(g.initializer!.map((t) => t.name));
      assert.ok(names.has("bert.encoder.layer.1.attention.self.qkv.weight"));
      assert.ok(names.has("ans_classifier.2.weight"));
      await onnx.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "an fp16 export is about half the size and stays close to the float32 one",
  ...opts,
  fn: async () => {
    const model = sessionModel("vqa2");
    const f32 = await exportToTemp(model), f16 = await exportToTemp(model, true);
    try {
      // every weight is stored in half the bytes (int64 and float constants stay as they are)
      const weightBytes = async (dir: string, type: number) =>
        decodeModel(await Deno.readFile(join(dir, "encoder.onnx"))).graph!.initializer!
          .filter((t) => t.dataType === type && !t.name!.startsWith("const_"))
          .reduce((n, t) => n + t.rawData!.length, 0);
      const w32 = await weightBytes(f32.dir, 1), w16 = await weightBytes(f16.dir, 10);
      assert.equal(w16 * 2, w32);
      assert.equal(w32, model.table.count * 4);
      assert.ok(f16.result.bytes.encoder < f32.result.bytes.encoder);
      assert.equal((await readOnnxManifest(f16.dir)).fp16, true);
      const batch = randomBatch(sessionConfig, { B: 2, T: 4, P: 1, mode: "s2s" });
      const a = await (await OnnxModel.load(f32.dir, { threads: 1 })).forward(batch);
      const b = await (await OnnxModel.load(f16.dir, { threads: 1 })).forward(batch);
      assertClose(b.sequenceOutput, a.sequenceOutput, { atol: 2e-2, rtol: 0, name: "fp16 sequence_output" });
      assertClose(b.vqaLogits!, a.vqaLogits!, { atol: 2e-2, rtol: 1e-2, name: "fp16 vqa_logits" });
    } finally {
      await Deno.remove(f32.dir, { recursive: true });
      await Deno.remove(f16.dir, { recursive: true });
    }
  },
});

Deno.test("readOnnxManifest and ensureFixtureExport reject what is not an export", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-" });
  try {
    await assert.rejects(() => readOnnxManifest(dir), SyntaxError);
    await Deno.writeTextFile(join(dir, MANIFEST_FILE), JSON.stringify({ format: "vlp-onnx", version: 2 }));
    await assert.rejects(() => readOnnxManifest(dir), /version/);
    await Deno.remove(join(dir, MANIFEST_FILE));
    await Deno.writeTextFile(join(dir, "other.txt"), "x");
    await assert.rejects(() => ensureFixtureExport(fixturePath("fixtures/vlp-tiny"), dir), /not empty/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// BERT-base size (about 140M parameters, two 0.5 GiB graphs): too slow and large for every CI run.
Deno.test({
  name: "a BERT-base-sized random model exports, loads in onnxruntime-web and matches our engine",
  ...opts,
  ignore: Deno.env.get("VLP_ONNX_BERT_BASE") !== "1",
  fn: async () => {
    const model = new VlpModel({
      config: bertBaseConfig,
      task: "vqa2",
      backend: createBackend("blas"),
      seed: 1,
    });
    const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-base-" });
    try {
      await exportOnnx(model, dir);
      const onnx = await OnnxModel.load(dir, { threads: 2 });
      const batch = randomBatch(bertBaseConfig, { B: 1, T: 5, P: 2, mode: "s2s" });
      const ours = model.forward(batch), be = model.backend, got = await onnx.forward(batch);
      assertClose(got.sequenceOutput, await be.read(ours.sequenceOutput), {
        atol: 1e-4,
        rtol: 0,
        name: "sequence",
      });
      assertClose(got.mlmScores!, await be.read(ours.mlmScores!), {
        atol: 1e-4,
        rtol: 1e-4,
        name: "mlm_scores",
      });
      assertClose(got.vqaLogits!, await be.read(ours.vqaLogits!), {
        atol: 1e-4,
        rtol: 1e-4,
        name: "vqa_logits",
      });
      await onnx.release(); // one session at a time keeps the wasm heap small
      const A = bertBaseConfig.regions + 2, L = A + 3;
      const inputs: StartInputs = {
        regionFeats: batch.regionFeats,
        visPe: batch.visPe,
        inputIds: Array.from(batch.inputIds).slice(0, A),
        segmentIds: Int32Array.from({ length: L }, (_, i) => (i < A ? 4 : 5)),
      };
      const dec = await onnx.decoder({ maxImages: 1, maxWidth: 2, maxLength: L });
      const ref = new IncrementalDecoder(model, { maxImages: 1, maxWidth: 2, maxLength: L });
      assertClose(await dec.startLogits(inputs), await ref.startLogits(inputs), { atol: 1e-4, rtol: 1e-4 });
      dec.expand(2);
      ref.expand(2);
      assertClose(await dec.stepLogits([1000, 2000]), await ref.stepLogits([1000, 2000]), {
        atol: 1e-4,
        rtol: 1e-4,
      });
      await onnx.release();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
