import assert from "node:assert/strict";
import { assertClose, checkVjp, Rng } from "@vlp/testing";
import {
  erfFast,
  erfPrecise,
  geluBackward,
  geluForward,
  geluForwardWithGrad,
  reluBackward,
  reluForward,
  tanhBackward,
  tanhForward,
} from "./activations.ts";

Deno.test("erfPrecise() matches known values to 1e-15 and erfFast() to 1.5e-7", () => {
  const known: [number, number][] = [
    [0, 0],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
    [-1.5, -0.9661051464753108],
  ];
  for (const [x, e] of known) {
    assert.ok(Math.abs(erfPrecise(x) - e) < 1e-15, `erfPrecise(${x}) = ${erfPrecise(x)}, expected ${e}`);
  }
  for (let x = -7; x <= 7; x += 0.001) {
    assert.ok(Math.abs(erfFast(x) - erfPrecise(x)) < 1.5e-7, `erfFast(${x})`);
  }
});

Deno.test("gelu forward matches x·Φ(x) and its backward passes a float64 finite-difference check", () => {
  const rng = new Rng(1);
  const x = rng.fillNormal(new Float64Array(50), 0, 2);
  const y = new Float64Array(50);
  geluForward(x, y);
  for (let i = 0; i < 50; i++) {
    assertClose([y[i]], [0.5 * x[i] * (1 + erfPrecise(x[i] / Math.SQRT2))], { atol: 1e-15 });
  }
  // float32 storage uses the fast erf and stays within float32 rounding
  const y32 = new Float32Array(50);
  geluForward(Float32Array.from(x), y32);
  assertClose(y32, y, { atol: 2e-6, rtol: 1e-6, name: "gelu f32" });
  const dy = rng.fillNormal(new Float64Array(50)), dx = new Float64Array(50), dx32 = new Float32Array(50);
  geluBackward(x, dy, dx);
  geluBackward(Float32Array.from(x), Float32Array.from(dy), dx32);
  assertClose(dx32, dx, { atol: 2e-6, rtol: 1e-6, name: "gelu backward f32" });
  // the forward that also saves gelu'(x) agrees with both
  for (const T of [Float64Array, Float32Array]) {
    const xs = T.from(x), yy = new T(50), g = new T(50);
    geluForwardWithGrad(xs, yy, g);
    assertClose(yy, y, { atol: 2e-6, rtol: 1e-6, name: `gelu with grad ${T.name}` });
    assertClose(g.map((v, i) => v * dy[i]), dx, { atol: 4e-6, rtol: 1e-6, name: `gelu grad ${T.name}` });
  }
  checkVjp(
    ([v]) => {
      const o = new Float64Array(v.length);
      geluForward(v, o);
      return o;
    },
    ([v], dy) => {
      const dx = new Float64Array(v.length);
      geluBackward(v, dy, dx);
      return [dx];
    },
    [x],
    { name: "gelu", rtol: 1e-7 },
  );
});

Deno.test("relu and tanh backward pass float64 finite-difference checks", () => {
  const rng = new Rng(2);
  // keep ReLU inputs away from the kink
  const x = rng.fillNormal(new Float64Array(40)).map((v) => (Math.abs(v) < 0.05 ? v + 0.2 : v));
  for (
    const [name, fwd, bwd] of [
      ["relu", reluForward, reluBackward],
      ["tanh", tanhForward, tanhBackward],
    ] as const
  ) {
    checkVjp(
      ([v]) => {
        const o = new Float64Array(v.length);
        fwd(v, o);
        return o;
      },
      ([v], dy) => {
        const y = new Float64Array(v.length), dx = new Float64Array(v.length);
        fwd(v, y);
        bwd(y, dy, dx);
        return [dx];
      },
      [x],
      { name, rtol: 1e-7 },
    );
  }
});
