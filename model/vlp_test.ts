import assert from "node:assert/strict";
import { checkVjp, microConfig, randomBatch, Rng } from "@vlp/testing";
import { cpuData } from "./backends/cpu.ts";
import { ReferenceBackend } from "./backends/reference.ts";
import { type LossOptions, VlpModel } from "./vlp.ts";
import type { Task } from "./params.ts";

interface Case {
  name: string;
  task: Task;
  mode: "s2s" | "bi";
  opts: LossOptions;
  positions?: boolean;
}

const CASES: Case[] = [
  {
    name: "MLM, seq2seq mask, dropout, label smoothing, drop-worst",
    task: "img2txt",
    mode: "s2s",
    opts: { dropout: true, labelSmoothing: 0.1, dropWorstRatio: 0.34 },
  },
  {
    name: "MLM, bidirectional mask, no dropout, loss scale",
    task: "img2txt",
    mode: "bi",
    opts: { dropout: false, lossScale: 0.5 },
  },
  { name: "VQA, bidirectional mask, dropout", task: "vqa2", mode: "bi", opts: { dropout: true } },
  {
    name: "MLM, seq2seq mask, explicit normalizer (SCST-style reduction)",
    task: "img2txt",
    mode: "s2s",
    opts: { dropout: true, normalizer: 3 },
  },
  {
    name: "MLM, seq2seq mask, explicit position ids",
    task: "img2txt",
    mode: "s2s",
    opts: { dropout: false },
    positions: true,
  },
];

for (const c of CASES) {
  Deno.test(`VlpModel float64 gradient check over every parameter: ${c.name}`, () => {
    const be = new ReferenceBackend({ precision: "float64" });
    const model = new VlpModel({ config: microConfig, task: c.task, backend: be, seed: 11 });
    const batch = randomBatch(microConfig, {
      B: 3,
      T: 4,
      P: c.task === "img2txt" ? 2 : 0,
      mode: c.mode,
      answers: c.task === "vqa2",
      seed: 5,
    });
    if (c.positions) {
      const pr = new Rng(8);
      batch.positionIds = Int32Array.from(batch.inputIds, () => pr.int(microConfig.maxPositions));
    }
    const state = model.rng.getState();
    const theta0 = (cpuData(model.params) as Float64Array).slice();
    const scale = c.opts.lossScale ?? 1;
    const lossAt = (theta: Float64Array) => {
      be.write(model.params, theta);
      model.rng.setState(state);
      return cpuData(model.loss(batch, c.opts))[0] * scale;
    };
    model.zeroGrad();
    model.rng.setState(state);
    const l = cpuData(model.forwardBackward(batch, c.opts))[0];
    assert.ok(Math.abs(l * scale - lossAt(theta0)) < 1e-12, "forwardBackward and loss agree");
    be.write(model.params, theta0);
    const grad = (cpuData(model.grads) as Float64Array).slice();
    // one random direction through all parameters, plus probes
    checkVjp(([t]) => Float64Array.of(lossAt(t)), (_x, dy) => [grad.map((g) => g * dy[0])], [theta0], {
      name: c.name,
      rtol: 1e-6,
      probes: 0,
    });
    // two coordinates of every tensor
    const rng = new Rng(2);
    const h = 1e-6;
    let nonzero = 0;
    for (const s of model.table.specs) {
      for (let r = 0; r < 2; r++) {
        const i = s.offset + rng.int(s.size);
        const tp = theta0.slice(), tm = theta0.slice();
        tp[i] += h;
        tm[i] -= h;
        const num = (lossAt(tp) - lossAt(tm)) / (2 * h);
        if (grad[i] !== 0) nonzero++;
        assert.ok(
          Math.abs(num - grad[i]) <= 1e-7 + 1e-5 * Math.abs(num),
          `${s.name}[${i - s.offset}]: analytic ${grad[i]}, numeric ${num}`,
        );
      }
    }
    assert.ok(nonzero > model.table.specs.length, `only ${nonzero} non-zero gradient probes`);
  });
}

Deno.test("VlpModel gradients accumulate across calls until zeroGrad()", () => {
  const model = new VlpModel({
    config: microConfig,
    backend: new ReferenceBackend({ precision: "float64" }),
    seed: 1,
  });
  const batch = randomBatch(microConfig, { B: 2, T: 3, P: 2, mode: "s2s" });
  model.zeroGrad();
  model.forwardBackward(batch, { dropout: false });
  const g1 = (cpuData(model.grads) as Float64Array).slice();
  model.forwardBackward(batch, { dropout: false });
  const g2 = cpuData(model.grads) as Float64Array;
  for (let i = 0; i < g1.length; i += 7) {
    assert.ok(Math.abs(g2[i] - 2 * g1[i]) <= 1e-12 * (1 + Math.abs(g1[i])));
  }
  model.zeroGrad();
  assert.ok(cpuData(model.grads).every((v) => v === 0));
  // buffers can be released and are allocated again on the next call
  const before = cpuData(model.loss(batch))[0];
  model.releaseBuffers();
  assert.equal(cpuData(model.loss(batch))[0], before);
});
