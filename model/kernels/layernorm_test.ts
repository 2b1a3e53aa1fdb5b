import { assertClose, checkVjp, Rng } from "@vlp/testing";
import { layernormBackward, layernormForward } from "./layernorm.ts";

const ROWS = 5, C = 7, EPS = 1e-5;

function ln(x: Float64Array, w: Float64Array, b: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  layernormForward(x, w, b, y, new Float64Array(ROWS), new Float64Array(ROWS), C, EPS);
  return y;
}

Deno.test("layernormForward() normalises each row to mean 0, variance 1 before the affine map", () => {
  const rng = new Rng(4);
  const x = rng.fillNormal(new Float64Array(ROWS * C), 3, 2);
  const y = ln(x, new Float64Array(C).fill(1), new Float64Array(C));
  for (let r = 0; r < ROWS; r++) {
    const row = y.subarray(r * C, r * C + C);
    const mu = row.reduce((s, v) => s + v, 0) / C;
    const v = row.reduce((s, t) => s + (t - mu) ** 2, 0) / C;
    assertClose([mu, v], [0, 1], { atol: 1e-4 });
  }
});

Deno.test("layernormBackward() passes a float64 finite-difference check for x, weight and bias", () => {
  const rng = new Rng(5);
  const x = rng.fillNormal(new Float64Array(ROWS * C), 0.5, 1.5);
  const w = rng.fillNormal(new Float64Array(C), 1, 0.3);
  const b = rng.fillNormal(new Float64Array(C));
  checkVjp(
    ([x, w, b]) => ln(x, w, b),
    ([x, w, b], dy) => {
      const mean = new Float64Array(ROWS), rstd = new Float64Array(ROWS);
      layernormForward(x, w, b, new Float64Array(x.length), mean, rstd, C, EPS);
      const dx = new Float64Array(x.length), dw = new Float64Array(C), db = new Float64Array(C);
      layernormBackward(dy, x, mean, rstd, w, dx, dw, db, C);
      return [dx, dw, db];
    },
    [x, w, b],
    { name: "layernorm", rtol: 1e-6 },
  );
});

Deno.test("layernormBackward() accumulates into dx with accumulate = true", () => {
  const rng = new Rng(6);
  const x = rng.fillNormal(new Float64Array(ROWS * C)), w = rng.fillNormal(new Float64Array(C));
  const dy = rng.fillNormal(new Float64Array(ROWS * C));
  const mean = new Float64Array(ROWS), rstd = new Float64Array(ROWS);
  layernormForward(x, w, new Float64Array(C), new Float64Array(x.length), mean, rstd, C, EPS);
  const dx1 = new Float64Array(x.length);
  layernormBackward(dy, x, mean, rstd, w, dx1, new Float64Array(C), new Float64Array(C), C);
  const dx2 = new Float64Array(x.length).fill(1);
  layernormBackward(dy, x, mean, rstd, w, dx2, new Float64Array(C), new Float64Array(C), C, true);
  assertClose(dx2, dx1.map((v) => v + 1), { atol: 1e-12 });
});
