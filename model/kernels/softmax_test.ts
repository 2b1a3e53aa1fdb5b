import { assertClose, checkVjp, Rng } from "@vlp/testing";
import { additiveMask, softmaxBackward, softmaxForward } from "./softmax.ts";

const S = 2, NH = 3, LQ = 4, LK = 5;

Deno.test("softmaxForward() gives rows summing to 1 with masked columns at exp(-10000) = 0", () => {
  const rng = new Rng(7);
  const x = rng.fillNormal(new Float64Array(S * NH * LQ * LK));
  const m01 = Array.from({ length: S * LQ * LK }, (_, i) => (i % LK === 2 ? 0 : 1));
  const mask = additiveMask(m01, new Float64Array(m01.length));
  const p = new Float64Array(x.length);
  softmaxForward(x, mask, p, NH, LQ, LK);
  const p32 = new Float32Array(x.length);
  softmaxForward(Float32Array.from(x), Float32Array.from(mask), p32, NH, LQ, LK);
  assertClose(p32, p, { atol: 1e-7, rtol: 1e-6, name: "float32 path" });
  for (let r = 0; r < S * NH * LQ; r++) {
    assertClose([p.subarray(r * LK, r * LK + LK).reduce((s, v) => s + v, 0)], [1], { atol: 1e-12 });
    assertClose([p[r * LK + 2]], [0], { atol: 1e-300 });
  }
});

Deno.test("softmaxBackward() passes a float64 finite-difference check", () => {
  const rng = new Rng(8);
  const x = rng.fillNormal(new Float64Array(S * NH * LQ * LK));
  const mask = rng.fillNormal(new Float64Array(S * LQ * LK));
  const fwd = (v: Float64Array) => {
    const p = new Float64Array(v.length);
    softmaxForward(v, mask, p, NH, LQ, LK);
    return p;
  };
  checkVjp(
    ([v]) => fwd(v),
    ([v], dy) => {
      const dx = new Float64Array(v.length);
      softmaxBackward(fwd(v), dy, dx, LK);
      return [dx];
    },
    [x],
    { name: "softmax", rtol: 1e-7 },
  );
});
