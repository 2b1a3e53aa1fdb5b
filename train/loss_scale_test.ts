import assert from "node:assert/strict";
import { VlpModel } from "@vlp/model";
import { microConfig } from "@vlp/testing";
import { gpuTest } from "../model/backends/webgpu/test_utils.ts";
import { localRanks } from "./dist/test_utils.ts";
import { DynamicLossScale, unscaleGradients } from "./loss_scale.ts";

Deno.test("dynamic loss scale: starts at 2^16, halves and skips on an overflow, doubles after 1000 clean steps", () => {
  const s = new DynamicLossScale();
  assert.equal(s.scale, 65536);
  assert.equal(s.update(true), false); // overflow: skip, halve
  assert.equal(s.scale, 32768);
  for (let i = 0; i < 999; i++) assert.equal(s.update(false), true);
  assert.equal(s.scale, 32768); // 999 clean steps: not yet
  assert.equal(s.update(false), true);
  assert.equal(s.scale, 65536); // the 1000th doubles
  s.update(false);
  assert.equal(s.update(true), false); // an overflow resets the clean count
  assert.equal(s.scale, 32768);
  assert.equal(s.cleanSteps, 0);
  assert.equal(s.overflows, 2);
});

Deno.test("dynamic loss scale: never below 1", () => {
  const s = new DynamicLossScale(4, 10);
  for (let i = 0; i < 5; i++) s.update(true);
  assert.equal(s.scale, 1);
});

gpuTest(
  "unscaleGradients() across ranks: a non-finite gradient on one rank skips the step on every rank",
  async (gpu) => {
    if (!gpu.hasF16) return; // an adapter without shader-f16 refuses --fp16 (model/half_test.ts)
    const ranks = localRanks(2);
    const models = ranks.map(() => new VlpModel({ config: microConfig, backend: gpu, seed: 3, fp16: true }));
    const scalers = ranks.map(() => new DynamicLossScale());
    const fill = (r: number, value: number, bad = false) => {
      const g = new Float32Array(models[r].grads.size).fill(value);
      if (bad) g[5] = Infinity;
      gpu.write(models[r].grads, g);
    };
    // the gradients are not summed here: rank 0's are clean, rank 1 alone holds an Inf, and both skip
    fill(0, 2 * 65536);
    fill(1, 2 * 65536, true);
    assert.deepEqual(await Promise.all(models.map((m, r) => unscaleGradients(m, scalers[r], ranks[r]))), [
      false,
      false,
    ]);
    for (const s of scalers) assert.deepEqual([s.scale, s.overflows], [32768, 1]);
    // without the world, rank 0 would have taken the step
    fill(0, 2 * 65536);
    assert.equal(await unscaleGradients(models[0], new DynamicLossScale()), true);
    // a clean step on both: unscaled by the scale the backward used
    fill(0, 2 * 32768);
    fill(1, 2 * 32768);
    assert.deepEqual(await Promise.all(models.map((m, r) => unscaleGradients(m, scalers[r], ranks[r]))), [
      true,
      true,
    ]);
    for (const m of models) assert.ok((await gpu.read(m.grads)).every((x) => x === 2));
    for (const s of scalers) assert.deepEqual([s.scale, s.cleanSteps], [32768, 1]);
  },
);
