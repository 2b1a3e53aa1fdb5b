import assert from "node:assert/strict";
import { fixturePath, runCli } from "@vlp/testing";

const run = (script: string, args: string[]) => runCli(`eval/cli/${script}`, args);

const fx = (f: string) => fixturePath(`fixtures/metrics/${f}`);

Deno.test("eval-captions CLI: one JSON object with metrics, unavailable and per_image", async () => {
  const r = await run("eval_captions.ts", [
    "--refs",
    fx("cap_tricky65.refs.json"),
    "--results",
    fx("cap_tricky65.results.json"),
    "--per-image",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const out = JSON.parse(lines[0]);
  const exp = JSON.parse(Deno.readTextFileSync(fx("cap_tricky65.expected.json")));
  assert.deepEqual(Object.keys(out), ["metrics", "unavailable", "per_image"]);
  for (const [k, v] of Object.entries(exp.metrics) as [string, number][]) {
    assert.ok(Math.abs(out.metrics[k] - v) <= 1e-9, k);
  }
  assert.ok("SPICE" in out.unavailable && "METEOR" in out.unavailable);
  assert.equal(Object.keys(out.per_image).length, 65);
  assert.match(r.stderr, /CIDEr\s+0\.4210/);
});

Deno.test("eval-captions CLI: --meteor-paraphrase reports METEOR", async () => {
  const para = new URL("../testdata/paraphrase_tiny.gz", import.meta.url).pathname;
  const r = await run("eval_captions.ts", [
    "--refs",
    fx("cap_tricky65.refs.json"),
    "--results",
    fx("cap_tricky65.results.json"),
    "--meteor-paraphrase",
    para,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok("METEOR" in out.metrics && !("METEOR_noparaphrase" in out.metrics));
  assert.ok(!("METEOR" in out.unavailable));
});

Deno.test("eval-captions CLI: clear errors for malformed JSON, bad shapes and missing ids", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, "{not json");
    await Deno.writeTextFile(`${dir}/res.json`, JSON.stringify([{ image_id: 1, caption: "a dog" }]));
    await Deno.writeTextFile(`${dir}/shape.json`, JSON.stringify([{ image_id: 1, text: "a dog" }]));
    await Deno.writeTextFile(`${dir}/refs.json`, JSON.stringify({ 1: ["a dog ."], 2: ["a cat ."] }));
    let r = await run("eval_captions.ts", ["--refs", `${dir}/bad.json`, "--results", `${dir}/res.json`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.json": malformed JSON/);
    r = await run("eval_captions.ts", ["--refs", `${dir}/refs.json`, "--results", `${dir}/shape.json`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /shape\.json" as caption results.*entry 0 .*key "caption"/);
    r = await run("eval_captions.ts", ["--refs", `${dir}/refs.json`, "--results", `${dir}/res.json`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no caption for 1 of 2 reference images \(2\)/);
    r = await run("eval_captions.ts", [
      "--refs",
      `${dir}/refs.json`,
      "--results",
      `${dir}/res.json`,
      "--subset",
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await run("eval_captions.ts", ["--results", `${dir}/res.json`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--refs FILE is required/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval-vqa CLI: official aggregates and unrounded values; errors for missing ids", async () => {
  const r = await run("eval_vqa.ts", [
    "--annotations",
    fx("vqa_tricky40.annotations.json"),
    "--results",
    fx("vqa_tricky40.results.json"),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const exp = JSON.parse(Deno.readTextFileSync(fx("vqa_tricky40.expected.json")));
  assert.deepEqual({ ...out, unrounded: undefined }, { ...exp.accuracy, unrounded: undefined });
  assert.deepEqual(out.unrounded, exp.accuracy_unrounded);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/res.json`, JSON.stringify([{ question_id: 1, answer: "2" }]));
    const bad = await run("eval_vqa.ts", [
      "--annotations",
      fx("vqa_tricky40.annotations.json"),
      "--results",
      `${dir}/res.json`,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no answer for question ids 2, 3, 4/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
