import assert from "node:assert/strict";
import { assertClose, Rng } from "@vlp/testing";
import { gemm, type GemmArgs, gemmNaive } from "./matmul.ts";

function randomCase(rng: Rng, transA: boolean, transB: boolean, beta: number): [GemmArgs, GemmArgs] {
  const m = 1 + rng.int(37), n = 1 + rng.int(70), k = 1 + rng.int(45);
  const lda = (transA ? m : k) + rng.int(3), ldb = (transB ? k : n) + rng.int(3), ldc = n + rng.int(3);
  const aOff = rng.int(5), bOff = rng.int(5), cOff = rng.int(5);
  const a = rng.fillNormal(new Float64Array(aOff + (transA ? k : m) * lda));
  const b = rng.fillNormal(new Float64Array(bOff + (transB ? n : k) * ldb));
  const c = rng.fillNormal(new Float64Array(cOff + m * ldc));
  const g: GemmArgs = { transA, transB, m, n, k, alpha: 0.7, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc };
  return [g, { ...g, c: c.slice() }];
}

Deno.test("gemm() matches the naive triple loop for every transpose, offsets, strides and beta", () => {
  const rng = new Rng(3);
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const beta of [0, 1, 0.5]) {
        for (let rep = 0; rep < 3; rep++) {
          const [g, ref] = randomCase(rng, transA, transB, beta);
          gemm(g);
          gemmNaive(ref);
          assertClose(g.c, ref.c, {
            atol: 1e-12,
            rtol: 1e-12,
            name: `gemm tA=${transA} tB=${transB} beta=${beta}`,
          });
        }
      }
    }
  }
});

Deno.test("gemm() with beta = 0 ignores NaN in C", () => {
  const a = Float64Array.of(1, 2), b = Float64Array.of(3, 4), c = Float64Array.of(NaN);
  gemm({
    transA: false,
    transB: true,
    m: 1,
    n: 1,
    k: 2,
    alpha: 1,
    a,
    aOff: 0,
    lda: 2,
    b,
    bOff: 0,
    ldb: 2,
    beta: 0,
    c,
    cOff: 0,
    ldc: 1,
  });
  assertClose(c, [11]);
});

Deno.test("gemm() NT sums every output in order along k: bit-equal to the naive loop, float32 and float64, panels of every width", () => {
  const rng = new Rng(11);
  // k = 2100: panels of 12 rows of B (the block limit); k = 37: 64 rows; m, n with leftover rows and columns
  for (const [m, n, k] of [[7, 30, 2100], [9, 70, 37], [1, 5, 300], [4, 4, 1]]) {
    for (const F of [Float32Array, Float64Array]) {
      for (const beta of [0, 0.5]) {
        const a = rng.fillNormal(new F(m * k + 3)), b = rng.fillNormal(new F(n * k + 2));
        const c = rng.fillNormal(new F(m * (n + 1)));
        const g: GemmArgs = {
          transA: false,
          transB: true,
          m,
          n,
          k,
          alpha: 0.7,
          a,
          aOff: 3,
          lda: k,
          b,
          bOff: 2,
          ldb: k,
          beta,
          c,
          cOff: 0,
          ldc: n + 1,
        };
        const ref = { ...g, c: c.slice() };
        gemm(g);
        gemmNaive(ref);
        const diff = g.c.findIndex((v, i) => !Object.is(v, ref.c[i]));
        assert.equal(diff, -1, `${F.name} ${m}x${n}x${k} beta ${beta}: element ${diff}`);
      }
    }
  }
});
