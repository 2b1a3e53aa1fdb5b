import assert from "node:assert/strict";
import { assertClose, Rng } from "@vlp/testing";
import { bertAdamDefaults, bertAdamUpdate, clipFactor } from "./bert_adam.ts";

// One step written out element by element, the way pytorch_pretrained_bert's BertAdam does it:
// clip_grad_norm_ on the tensor, then next_m, next_v, update, weight decay, p -= lr·update.
function torchStyleStep(p: number[], g: number[], m: number[], v: number[], lr: number, wd: number): void {
  const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
  const coef = 1.0 / (norm + 1e-6);
  const gc = coef < 1 ? g.map((x) => x * coef) : g;
  for (let i = 0; i < p.length; i++) {
    m[i] = m[i] * 0.9 + 0.1 * gc[i];
    v[i] = v[i] * 0.999 + 0.001 * gc[i] * gc[i];
    const update = m[i] / (Math.sqrt(v[i]) + 1e-6) + wd * p[i];
    p[i] = p[i] - lr * update;
  }
}

Deno.test("bertAdamUpdate() follows BertAdam step by step: per-tensor clip, no bias correction, decoupled decay", () => {
  const rng = new Rng(31);
  for (const [scale, wd] of [[0.01, 0.01], [3, 0.01], [3, 0]] as const) {
    const n = 37;
    const p = rng.fillNormal(new Float64Array(n)), g = new Float64Array(n);
    const m = new Float64Array(n), v = new Float64Array(n);
    const P = [...p], M = [...m], V = [...v];
    for (let step = 0; step < 3; step++) {
      rng.fillNormal(g, 0, scale);
      const G = [...g];
      bertAdamUpdate(p, g, m, v, { lr: 1e-3, weightDecay: wd });
      torchStyleStep(P, G, M, V, 1e-3, wd);
      assert.deepEqual([...g], G, "the gradient is left unchanged");
    }
    assertClose(p, P, { atol: 1e-15, rtol: 1e-13, name: `p scale=${scale}` });
    assertClose(m, M, { atol: 1e-15, rtol: 1e-13, name: "m" });
    assertClose(v, V, { atol: 1e-15, rtol: 1e-13, name: "v" });
  }
});

Deno.test("clipFactor() clips only above the max norm; a non-positive max disables clipping", () => {
  assert.equal(clipFactor(0.5, 1), 1);
  assertClose([clipFactor(4, 1)], [1 / (4 + 1e-6)], { rtol: 1e-15 });
  assert.equal(clipFactor(1e9, 0), 1);
  assert.throws(() => bertAdamDefaults({ lr: NaN, weightDecay: 0 }), RangeError);
  assert.throws(() => bertAdamDefaults({ lr: 1, weightDecay: 0, beta1: 1 }), RangeError);
});

Deno.test("bertAdamUpdate() on float32 storage matches the float64 result to float32 rounding", () => {
  const rng = new Rng(32);
  const n = 100;
  const p = rng.fillNormal(new Float64Array(n)), g = rng.fillNormal(new Float64Array(n), 0, 0.5);
  const m = rng.fillNormal(new Float64Array(n), 0, 0.01),
    v = rng.fillUniform(new Float64Array(n)).map((x) => x * 1e-4);
  const [p32, g32, m32, v32] = [p, g, m, v].map((a) => Float32Array.from(a));
  const [p64, m64, v64] = [p32, m32, v32].map((a) => Float64Array.from(a));
  bertAdamUpdate(p64, Float64Array.from(g32), m64, v64, { lr: 0.01, weightDecay: 0.01 });
  bertAdamUpdate(p32, g32, m32, v32, { lr: 0.01, weightDecay: 0.01 });
  assertClose(p32, p64, { atol: 1e-7, rtol: 1e-6, name: "p" });
  assertClose(v32, v64, { atol: 1e-12, rtol: 1e-6, name: "v" });
});
