import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import {
  adamFinal,
  type AdamReplay,
  linearPre,
  lossSpread,
  lossWithinSpread,
  originalNoise,
  reluAmbiguity,
  type ReplayTensor,
} from "./parity_sensitivity.ts";

/** The obvious loop: each output its bias plus the products summed in order along the input, in float64. */
function naivePre(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  rows: number,
  relu: boolean,
): Float64Array {
  const out = b.length, inp = w.length / out, z = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < out; j++) {
      let s = b[j];
      for (let p = 0; p < inp; p++) {
        s += (relu ? Math.max(x[r * inp + p], 0) : x[r * inp + p]) * w[j * inp + p];
      }
      z[r * out + j] = s;
    }
  }
  return z;
}

Deno.test("linearPre(): bit-equal to the naive float64 loop (leftover rows and outputs, output blocks, ReLU input)", () => {
  const rng = new Rng(4);
  // inp 9000: output blocks of 4 (the cache limit); leftover rows (rows % 4) and outputs (out % 4)
  for (const [rows, inp, out] of [[7, 13, 10], [4, 9000, 9], [1, 3, 1], [9, 40, 4]]) {
    const x = rng.fillNormal(new Float32Array(rows * inp)), w = rng.fillNormal(new Float32Array(out * inp));
    const b = rng.fillNormal(new Float32Array(out));
    for (const relu of [false, true]) {
      const z = linearPre(x, w, b, rows, relu), e = naivePre(x, w, b, rows, relu);
      const diff = z.findIndex((v, i) => !Object.is(v, e[i]));
      assert.equal(diff, -1, `${rows}x${inp}->${out} relu ${relu}: element ${diff}`);
    }
  }
});

Deno.test("reluAmbiguity(): counts the float64 pre-activations within twice the largest float32 distance", () => {
  const z64 = Float64Array.of(1e-3, -2e-3, 0.5, -0.5, 3e-3);
  const z32 = Float64Array.of(1e-3 + 1e-3, -2e-3, 0.5, -0.5, 3e-3); // largest distance 1e-3: τ = 2e-3
  const r = reluAmbiguity(z64, z32);
  assert.ok(Math.abs(r.tau - 2e-3) < 1e-15);
  assert.equal(r.ambiguous, 2);
});

// warmup_linear's first two steps: lr 0, then lr 1e-3 (the fixtures' BertAdam)
const ADAM: AdamReplay = { beta1: 0.9, beta2: 0.999, eps: 1e-6, maxGradNorm: 1, lrs: [0, 1e-3] };

Deno.test("lossSpread(): a gradient zero in exact arithmetic moves the loss by Adam's sign-like update of its noise", async () => {
  // loss = Σ c·p; element 0: gradient 0 with noise 1e-3 (≫ ε): the update after the lr-0 step is
  // ±0.19·d/(√0.001999·d + ε) ≈ ±4.25 for every replay; element 1: gradient 0.5 ≫ noise: barely moves
  const c = [2, 3], p0 = Float64Array.of(0.1, -0.2);
  const g = Float64Array.of(0, 0.5), d = Float64Array.of(1e-3, 1e-3);
  const t: ReplayTensor = { p0, grads: [g, g], noise: [d, d], wd: 0 };
  const loss = (ps: Map<string, Float64Array>) => {
    const p = ps.get("w")!;
    return Promise.resolve(c[0] * p[0] + c[1] * p[1]);
  };
  const rng = new Rng(1), r = await lossSpread(2, new Map([["w", t]]), ADAM, 6, loss, rng);
  const exact = adamFinal(p0, [g, g], 0, ADAM);
  assert.ok(Math.abs(r.base - (c[0] * exact[0] + c[1] * exact[1])) < 1e-15, "base: the unperturbed replay");
  const u = 0.19e-3 / (Math.sqrt(0.001999) * 1e-3 + 1e-6); // element 0's |update| at step 1
  const e1 = 3 * 1e-3 *
    (0.19 * 0.5 / Math.sqrt(0.001999 * 0.25) - 0.19 * 0.501 / Math.sqrt(0.001999 * 0.251001));
  assert.ok(Math.abs(r.spread - (2 * 1e-3 * u + Math.abs(e1))) < 2e-3 * 1e-3 * u, `spread ${r.spread}`);
  // no noise: no spread
  const quiet = { ...t, noise: [new Float64Array(2), new Float64Array(2)] };
  assert.equal((await lossSpread(2, new Map([["w", quiet]]), ADAM, 3, loss, rng)).spread, 0);
});

Deno.test("lossWithinSpread(): a loss off by more than tol + 2·spread fails, within it passes", () => {
  const tol = 2.4e-4, spread = 3e-4;
  assert.ok(lossWithinSpread(23.6378 + tol + 2 * spread - 1e-9, 23.6378, spread, tol));
  assert.ok(!lossWithinSpread(23.6378 + tol + 2 * spread + 1e-6, 23.6378, spread, tol));
  assert.ok(!lossWithinSpread(NaN, 23.6378, spread, tol));
});

Deno.test("originalNoise(): |original − twin| per element, rows past a truncated fixture's tiled", () => {
  const n = originalNoise(Float32Array.of(1, 2), Float64Array.of(1.5, 1, 7, 9, 11));
  assert.deepEqual([...n], [0.5, 1, 0.5, 1, 0.5]);
});
