import assert from "node:assert/strict";
import { join } from "node:path";
import { fixturePath, runCli } from "@vlp/testing";
import { readOnnxManifest } from "../export.ts";

const FIXTURE = fixturePath("fixtures/vlp-tiny");

const run = (args: string[]) => runCli("onnx/cli/export_onnx.ts", args);

Deno.test("export-onnx writes both graphs and the manifest of the vlp-tiny checkpoint and ends with one JSON line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-cli-" });
  try {
    const out = join(dir, "tiny");
    const res = await run([
      "--model_recover_path",
      join(FIXTURE, "model.bin"),
      "--out",
      out,
      "--task",
      "vqa2",
      "--fp16",
      "--config_path",
      join(FIXTURE, "manifest.json"),
    ]);
    assert.equal(res.code, 0, res.stderr);
    const figures = JSON.parse(res.stdout.trim().split("\n").pop()!);
    assert.equal(figures.task, "vqa2");
    assert.equal(figures.fp16, true);
    assert.equal(figures.opset, 17);
    assert.equal(figures.encoderBytes, (await Deno.stat(join(out, "encoder.onnx"))).size);
    assert.equal(figures.decoderBytes, (await Deno.stat(join(out, "decoder.onnx"))).size);
    const m = await readOnnxManifest(out);
    assert.equal(m.config.hiddenSize, 32);
    assert.equal(m.source, join(FIXTURE, "model.bin"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("export-onnx exits 2 on bad flags and 1 when the checkpoint does not fit the configuration", async () => {
  const bad = await run(["--out", "x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /model_recover_path/);
  assert.equal((await run(["--model_recover_path", "m.bin", "--out", "x", "--task", "caption"])).code, 2);
  const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-cli-" });
  try {
    // the fixture's tiny checkpoint against the default BERT-base configuration: a shape error, nothing written
    const res = await run(["--model_recover_path", join(FIXTURE, "model.bin"), "--out", join(dir, "o")]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /shape/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
