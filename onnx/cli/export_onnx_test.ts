import assert from "node:assert/strict";
import { join } from "node:path";
import { endedPid, FileSnapshot, fixturePath, runCli } from "@vlp/testing";
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

Deno.test("export-onnx never replaces its inputs or files it did not write; it replaces its own export", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-guard-" });
  try {
    const ckpt = join(dir, "model.bin"), config = join(dir, "manifest.json");
    await Deno.copyFile(join(FIXTURE, "model.bin"), ckpt);
    await Deno.copyFile(join(FIXTURE, "manifest.json"), config);
    const foreign = join(dir, "theirs");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "encoder.onnx"), "someone else's graph");
    await Deno.mkdir(join(dir, "links"));
    await Deno.link(config, join(dir, "links", "vlp_onnx.json"));
    await Deno.writeTextFile(join(dir, "a_file"), "mine");
    const args = (out: string) => ["--model_recover_path", ckpt, "--config_path", config, "--out", out];
    const inputs = await FileSnapshot.of(dir);
    const cases: [string, number, RegExp][] = [
      [join(dir, "links"), 2, /--out ".*links\/vlp_onnx\.json" is the file of --config_path .*another path/],
      [foreign, 1, /--out ".*theirs" holds encoder\.onnx but no export of ours .*nothing is replaced/],
      [join(dir, "a_file"), 1, /cannot write --out ".*a_file": ".*a_file" is a file, not a folder/],
    ];
    for (const [out, code, text] of cases) {
      const r = await run(args(out));
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, text);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    const missing = await run(["--model_recover_path", join(dir, "none.bin"), "--out", join(dir, "o")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read --model_recover_path ".*none\.bin"/);
    await inputs.assertUnchanged("an input changed or an output appeared");
    // a previous export is replaced, and a killed run's temporary file removed
    const out = join(dir, "export");
    assert.equal((await run(args(out))).code, 0);
    const stale = join(out, `.encoder.onnx.tmp-${await endedPid()}-0badf00d`);
    await Deno.writeTextFile(stale, "half");
    const again = await run([...args(out), "--fp16"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await readOnnxManifest(out)).fp16, true);
    await assert.rejects(Deno.stat(stale), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
