import assert from "node:assert/strict";
import { fixturePath, microConfig, Rng } from "@vlp/testing";
import {
  type Backend,
  BlasBackend,
  blasRequired,
  parseConfig,
  ReferenceBackend,
  type Task,
  VlpModel,
} from "@vlp/model";
import { BertAdam, receivesGradient } from "./bert_adam.ts";
import { scheduledLr, scheduleFactor, totalSteps } from "./schedule.ts";
import { bertAdamParityChecks } from "./parity.ts";

const blas = BlasBackend.tryCreate({ threads: 2 });
if (!blas && blasRequired()) throw new Error("VLP_REQUIRE_BLAS=1 but OpenBLAS could not be loaded");
const backends: Backend[] = [new ReferenceBackend(), ...(blas ? [blas] : [])];

const micro = parseConfig({
  ...microConfig,
  vocabSize: 30,
  numLayers: 1,
  hiddenDropout: 0.1,
  attentionDropout: 0.1,
});

for (const be of backends) {
  Deno.test(`BertAdam on ${be.name} reproduces the original's 3 steps on vlp-tiny (losses and every parameter)`, async () => {
    const checks = await bertAdamParityChecks(fixturePath("fixtures/vlp-tiny"), be);
    assert.equal(checks.filter((c) => c.name.startsWith("bertadam_loss_trajectory")).length, 3);
    assert.equal(checks.filter((c) => c.name.startsWith("bertadam_params:")).length, 48);
    const failed = checks.filter((c) => !c.pass);
    assert.deepEqual(failed, [], failed.map((c) => `${c.name}: ${c.maxAbs} (${c.tolerance})`).join("\n"));
  });
}

// vlp-wide (weights twice as wide; the sensitivity-derived bounds of model/README.md decide) on the reference
// backend; blas and webgpu run it through the parity CLI (cli/parity_backends_test.ts)
Deno.test("BertAdam on reference reproduces the original's 3 steps on vlp-wide (losses and every parameter)", async () => {
  const lines: string[] = [];
  const checks = await bertAdamParityChecks(fixturePath("fixtures/vlp-wide"), new ReferenceBackend(), {
    log: (l) => lines.push(l),
  });
  assert.equal(checks.filter((c) => c.name.startsWith("bertadam_loss_trajectory")).length, 3);
  assert.equal(checks.filter((c) => c.name.startsWith("bertadam_params:")).length, 48);
  const failed = checks.filter((c) => !c.pass);
  assert.deepEqual(failed, [], failed.map((c) => `${c.name}: ${c.maxAbs} (${c.tolerance})`).join("\n"));
  // step 0's learning rate is 0 (warmup_linear): step 1 reuses its forward and backward, so both losses agree
  assert.ok(lines.some((l) => /^step 1: the parameters are those of step 0/.test(l)), lines.join("\n"));
  const [l0, l1] = ["[0]", "[1]"].map((k) => checks.find((c) => c.name === `bertadam_loss_trajectory${k}`)!);
  assert.deepEqual(l1.actual, l0.actual);
});

Deno.test("scheduleFactor() follows pytorch_pretrained_bert's three schedules", () => {
  const w = 0.1;
  assert.equal(scheduleFactor("warmup_linear", 0, w), 0);
  assert.equal(scheduleFactor("warmup_linear", 0.05, w), 0.5);
  assert.equal(scheduleFactor("warmup_linear", 0.1, w), 1); // x < w is false at x = w
  assert.ok(Math.abs(scheduleFactor("warmup_linear", 0.2, w) - 0.8 / 0.9) < 1e-15);
  assert.equal(scheduleFactor("warmup_linear", 1.5, w), 0); // clamped at 0 past t_total
  assert.equal(scheduleFactor("warmup_constant", 0.05, w), 0.5);
  assert.equal(scheduleFactor("warmup_constant", 0.7, w), 1);
  assert.equal(scheduleFactor("warmup_cosine", 0.5, w), 0.5 * (1 + Math.cos(Math.PI / 2)));
  assert.equal(scheduleFactor("warmup_cosine", 0, w), 0);
  // warmup −1: no warm-up, linear decay from the first step
  assert.equal(scheduleFactor("warmup_linear", 0, -1), 0.5);
  assert.equal(scheduledLr(3e-5, "warmup_linear", 7, -1, 0.1), 3e-5); // t_total −1: constant
  assert.throws(() => scheduleFactor("nope" as "warmup_linear", 0.5, w), RangeError);
});

Deno.test("totalSteps() is the original's int(len(loader) · epochs / accumulation)", () => {
  assert.equal(totalSteps(10, 3, 1), 30);
  assert.equal(totalSteps(7, 3, 2), 10); // 10.5 truncated
  assert.equal(totalSteps(1, 1, 4), 0);
});

Deno.test("receivesGradient(): the pooler never, the masked-LM head not with the VQA head", () => {
  assert.equal(receivesGradient("bert.pooler.dense.weight", "img2txt"), false);
  assert.equal(receivesGradient("cls.predictions.bias", "img2txt"), true);
  assert.equal(receivesGradient("cls.predictions.bias", "vqa2"), false);
  assert.equal(receivesGradient("ans_classifier.0.weight", "vqa2"), true);
  assert.equal(receivesGradient("bert.embeddings.word_embeddings.weight", "vqa2"), true);
});

/** BertAdam.step written out the way pytorch_pretrained_bert computes it, in float64 on host arrays. */
function hostStep(
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  lr: number,
  wd: number,
): void {
  let ss = 0;
  for (const x of g) ss += x * x;
  const c = Math.min(1, 1 / (Math.sqrt(ss) + 1e-6));
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] * c;
    m[i] = 0.9 * m[i] + 0.1 * gi;
    v[i] = 0.999 * v[i] + 0.001 * gi * gi;
    p[i] -= lr * (m[i] / (Math.sqrt(v[i]) + 1e-6) + wd * p[i]);
  }
}

for (const task of ["img2txt", "vqa2"] as Task[]) {
  Deno.test(`BertAdam (${task}): decay groups, skipped tensors and scheduled lr match a step-by-step host run`, async () => {
    const be = new ReferenceBackend({ precision: "float64" });
    const model = new VlpModel({ config: micro, task, backend: be, seed: 3 });
    const opt = new BertAdam(model, { lr: 0.05, warmup: 0.25, tTotal: 8 });
    const rng = new Rng(9);
    const names = model.table.specs.map((s) => s.name);
    const host = new Map<string, { p: Float64Array; m: Float64Array; v: Float64Array }>();
    for (const [k, t] of model.parameterViews()) {
      const p = Float64Array.from(await be.read(t));
      host.set(k, { p, m: new Float64Array(p.length), v: new Float64Array(p.length) });
    }
    for (let step = 0; step < 4; step++) {
      const lr = scheduledLr(0.05, "warmup_linear", step, 8, 0.25);
      assert.equal(opt.currentLr(), lr);
      const grads = model.gradientViews();
      for (const k of names) {
        const scale = k.includes("word_embeddings") ? 3 : 0.3; // some tensors clipped, some not
        const g = Float64Array.from({ length: grads.get(k)!.size }, () => scale * rng.normal());
        be.write(grads.get(k)!, g);
        const h = host.get(k)!;
        if (receivesGradient(k, task)) {
          const wd = k.includes("bias") || k.includes("LayerNorm.weight") ? 0 : 0.01;
          hostStep(h.p, g, h.m, h.v, lr, wd);
        }
      }
      opt.step();
    }
    assert.equal(opt.stepCount, 4);
    for (const [k, t] of model.parameterViews()) {
      const a = await be.read(t), e = host.get(k)!.p;
      for (let i = 0; i < e.length; i++) {
        assert.ok(Math.abs(a[i] - e[i]) <= 1e-12, `${k}[${i}]: ${a[i]} vs ${e[i]}`);
      }
    }
    assert.ok(!opt.stepping.some((k) => k.startsWith("bert.pooler.")));
    assert.equal(opt.stepping.some((k) => k.startsWith("cls.predictions.")), task === "img2txt");
  });
}

Deno.test("BertAdam state round trip: a restored optimiser continues exactly like the original", async () => {
  const run = async (restoreAfter: number | null) => {
    const be = new ReferenceBackend();
    const model = new VlpModel({ config: micro, backend: be, seed: 5 });
    let opt = new BertAdam(model, { lr: 0.01, warmup: 0.1, tTotal: 10 });
    const rng = new Rng(2);
    for (let s = 0; s < 4; s++) {
      if (s === restoreAfter) {
        const state = await opt.getState();
        opt = new BertAdam(model, { lr: 0.01, warmup: 0.1, tTotal: 10 });
        opt.setState(state);
      }
      be.write(model.grads, rng.fillNormal(new Float32Array(model.table.total)));
      opt.step();
    }
    return Float32Array.from(await be.read(model.params));
  };
  assert.deepEqual(await run(2), await run(null));
});

Deno.test("BertAdam rejects invalid hyper-parameters and mismatched states with clear errors", async () => {
  const model = new VlpModel({ config: micro, backend: new ReferenceBackend(), seed: 1 });
  assert.throws(() => new BertAdam(model, { lr: -1 }), /Invalid learning rate/);
  assert.throws(() => new BertAdam(model, { lr: 1, warmup: 1 }), /Invalid warmup/);
  assert.throws(() => new BertAdam(model, { lr: 1, tTotal: 2.5 }), /Invalid t_total/);
  const opt = new BertAdam(model, { lr: 1 });
  const state = await opt.getState();
  state.m.delete("cls.predictions.bias");
  assert.throws(
    () => opt.setState(state, "optim.3.npz"),
    /optim\.3\.npz.*m\.cls\.predictions\.bias.*missing/,
  );
});

Deno.test("totalSteps and schedule agree with the fixture's trajectory: lr 0 at step 0, full lr at step 1", () => {
  assert.equal(scheduledLr(1e-3, "warmup_linear", 0, 10, 0.1), 0);
  assert.equal(scheduledLr(1e-3, "warmup_linear", 1, 10, 0.1), 1e-3);
});
