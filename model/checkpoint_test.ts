import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTorchStateDict, type NdArray, readNpz, toFloat32 } from "@vlp/io";
import { assertClose, fixturePath, microConfig } from "@vlp/testing";
import {
  adaptPretrained,
  createModel,
  loadCheckpoint,
  loadStateDict,
  saveCheckpoint,
  stateDict,
} from "./checkpoint.ts";
import { readBertConfig, tinyConfig } from "./config.ts";
import { VlpModel } from "./vlp.ts";
import { ReferenceBackend } from "./backends/reference.ts";

const ADAPT = fixturePath("fixtures/vlp-adapt");
const TINY = fixturePath("fixtures/vlp-tiny/model.bin");

Deno.test("from_pretrained adaptation reproduces vlp-adapt: renames, 6 segment rows, 512 positions, relax slice 3", async () => {
  const config = await readBertConfig(join(ADAPT, "bert_config.json"), { maxPositions: 512 });
  assert.equal(config.typeVocabSize, 6);
  const model = new VlpModel({ config, backend: new ReferenceBackend(), seed: 3 });
  const before = model.parameterViews();
  const visBefore = (await model.backend.read(before.get("vis_embed.2.weight")!)).slice();
  const report = await loadCheckpoint(model, join(ADAPT, "input_state_dict.bin"), {
    mode: "pretrained",
    taskIdx: 3,
  });
  assert.deepEqual(report.ignored.sort(), ["cls.seq_relationship.bias", "cls.seq_relationship.weight"]);
  assert.ok(report.missing.includes("vis_embed.0.weight") && report.missing.every((k) => /^vis_/.test(k)));
  const expected = await readNpz(join(ADAPT, "expected_adapted.npz"));
  const views = model.parameterViews();
  for (const [key, e] of expected) {
    const t = views.get(
      key === "cls.predictions.decoder.weight" ? "bert.embeddings.word_embeddings.weight" : key,
    )!;
    assert.deepEqual(t.shape, e.shape, key);
    assertClose(await model.backend.read(t), toFloat32(e), { atol: 0, rtol: 0, name: key });
  }
  // the region branches keep their initial values
  assertClose(await model.backend.read(views.get("vis_embed.2.weight")!), visBefore, { atol: 0, rtol: 0 });
});

Deno.test("adaptPretrained() with task index outside 0..3 keeps slice 0, as VLP does", async () => {
  const sd = await loadTorchStateDict(join(ADAPT, "input_state_dict.bin"));
  const config = await readBertConfig(join(ADAPT, "bert_config.json"), { maxPositions: 512 });
  const { sd: out } = adaptPretrained(sd, config, { taskIdx: 7 });
  const w = toFloat32(out.get("cls.predictions.transform.dense.weight")!);
  assertClose(w, toFloat32(sd.get("cls.predictions.transform.dense.weight")!).subarray(0, 16 * 16), {
    atol: 0,
  });
});

Deno.test("strict loading lists missing, unexpected and mis-shaped keys in one error", async () => {
  const sd = await loadTorchStateDict(TINY);
  const model = new VlpModel({ config: tinyConfig, task: "vqa2", noInit: true });
  const report = loadStateDict(model, sd, { source: "model.bin" });
  assert.equal(report.loaded.length, model.table.specs.length);
  const broken = new Map<string, NdArray>(sd);
  broken.delete("bert.pooler.dense.bias");
  broken.set("surprise.weight", sd.get("bert.pooler.dense.bias")!);
  broken.set("bert.pooler.dense.weight", {
    dtype: "float32",
    shape: [32, 31],
    data: new Float32Array(32 * 31),
  });
  broken.set("crit_mask_lm_smoothed.one_hot", {
    dtype: "float32",
    shape: [1, 28996],
    data: new Float32Array(28996),
  });
  assert.throws(
    () => loadStateDict(model, broken, { source: "model.3.bin" }),
    (e: Error) =>
      e instanceof TypeError && e.message.includes('Cannot load checkpoint "model.3.bin"') &&
      e.message.includes("missing keys: bert.pooler.dense.bias;") &&
      e.message.includes("unexpected keys: surprise.weight") &&
      e.message.includes("bert.pooler.dense.weight [32, 31] (expected [32, 32])") &&
      !e.message.includes("one_hot"),
  );
  // a captioning model ignores the VQA head of a VQA checkpoint
  const cap = new VlpModel({ config: tinyConfig, task: "img2txt", noInit: true });
  const r = loadStateDict(cap, sd);
  assert.deepEqual(r.ignored.filter((k) => k.startsWith("ans_classifier")).length, 4);
  // an untied decoder weight is refused
  const untied = new Map(sd);
  const dec = toFloat32(sd.get("cls.predictions.decoder.weight")!).slice();
  dec[0] += 1;
  untied.set("cls.predictions.decoder.weight", { dtype: "float32", shape: [28996, 32], data: dec });
  assert.throws(() => loadStateDict(cap, untied), /differs from the tied/);
});

Deno.test("saveCheckpoint() writes a VLP state_dict (decoder tied) that loads back identically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = new VlpModel({ config: microConfig, task: "vqa2", seed: 9 });
    const path = join(dir, "model.1.bin");
    await saveCheckpoint(model, path);
    const sd = await loadTorchStateDict(path);
    assert.ok(sd.has("cls.predictions.decoder.weight"));
    const dec = sd.get("cls.predictions.decoder.weight")!.data,
      wte = sd.get("bert.embeddings.word_embeddings.weight")!.data;
    assert.ok(
      dec.buffer === wte.buffer && dec.byteOffset === wte.byteOffset,
      "decoder weight shares the embeddings' storage",
    );
    const again = await createModel({ config: microConfig, task: "vqa2", checkpoint: path });
    assertClose(await again.backend.read(again.params), await model.backend.read(model.params), {
      atol: 0,
      rtol: 0,
    });
    const keys = [...(await stateDict(model)).keys()];
    assert.equal(keys.length, model.table.specs.length + 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
