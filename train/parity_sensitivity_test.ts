import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { linearPre, reluAmbiguity } from "./parity_sensitivity.ts";

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
