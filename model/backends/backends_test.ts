import assert from "node:assert/strict";
import { assertClose, Rng } from "@vlp/testing";
import type { Backend, MatmulArgs, Tensor } from "../backend.ts";
import { ReferenceBackend } from "./reference.ts";
import { BlasBackend } from "./blas.ts";
import { blasRequired, createBackend } from "./create.ts";
import { loadOpenBlas } from "./openblas.ts";
import { gemmNaive } from "../kernels/matmul.ts";
import { backendConformance } from "./conformance.ts";

const blas = BlasBackend.tryCreate({ threads: 2 });
if (!blas && blasRequired()) {
  throw new Error(`VLP_REQUIRE_BLAS=1 but OpenBLAS could not be loaded: ${loadOpenBlas().error}`);
}

/** The CPU backends under test (blas only when the library loads). */
const BACKENDS: Backend[] = [new ReferenceBackend(), ...(blas ? [blas] : [])];

function upload(be: Backend, data: Float32Array, shape: number[]): Tensor {
  const t = be.alloc(shape);
  be.write(t, data);
  return t;
}

Deno.test("createBackend() returns the asked backend and blas only when OpenBLAS loads", () => {
  assert.equal(createBackend("reference").name, "reference");
  assert.equal(createBackend("reference64").floatType, "float64");
  assert.equal(createBackend("blas").name, blas ? "blas" : "reference");
  assert.throws(() => createBackend("nope" as "blas"), RangeError);
});

for (const be of BACKENDS) {
  Deno.test(`${be.name}: batched strided matmul with bias, transposes and beta matches the naive loop`, async () => {
    const rng = new Rng(21);
    for (const [transA, transB] of [[false, true], [false, false], [true, false], [true, true]]) {
      // 2×3 batch of [m×k]·[k×n] blocks inside larger buffers, as attention addresses heads
      const m = 5, n = 7, k = 4, lda = 9, ldb = 11, ldc = 8;
      const batch = [2, 3];
      const sa = [3 * 60, 60], sb = [0, 80], sc = [3 * 50, 50];
      const aSize = 2 * 3 * 60 + 60, bSize = 3 * 80 + 80, cSize = 2 * 3 * 50 + 50;
      const a = rng.fillNormal(new Float32Array(aSize)), b = rng.fillNormal(new Float32Array(bSize));
      const c0 = rng.fillNormal(new Float32Array(cSize)), bias = rng.fillNormal(new Float32Array(n));
      for (const beta of [0, 1]) {
        const A = upload(be, a, [aSize]), Bt = upload(be, b, [bSize]), Ct = upload(be, c0, [cSize]);
        const args: MatmulArgs = {
          a: be.view(A, 3, [aSize - 3]),
          b: Bt,
          c: be.view(Ct, 1, [cSize - 1]),
          m,
          n,
          k,
          transA,
          transB,
          lda,
          ldb,
          ldc,
          alpha: 0.5,
          beta,
          batch,
          strideA: sa,
          strideB: sb,
          strideC: sc,
          ...(beta === 0 ? { bias: upload(be, bias, [n]) } : {}),
        };
        be.matmul(args);
        const expect = Float64Array.from(c0);
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < 3; j++) {
            const cOff = 1 + i * sc[0] + j * sc[1];
            gemmNaive({
              transA,
              transB,
              m,
              n,
              k,
              alpha: 0.5,
              a: Float64Array.from(a),
              aOff: 3 + i * sa[0] + j * sa[1],
              lda,
              b: Float64Array.from(b),
              bOff: i * sb[0] + j * sb[1],
              ldb,
              beta,
              c: expect,
              cOff,
              ldc,
            });
            if (beta === 0) {
              for (let r = 0; r < m; r++) for (let q = 0; q < n; q++) expect[cOff + r * ldc + q] += bias[q];
            }
          }
        }
        assertClose(await be.read(Ct), expect, {
          atol: 1e-5,
          rtol: 1e-5,
          name: `matmul tA=${transA} tB=${transB} beta=${beta}`,
        });
      }
    }
    assert.throws(
      () => be.matmul({ a: be.alloc([4]), b: be.alloc([4]), c: be.alloc([4]), m: 2, n: 2, k: 3 }),
      RangeError,
    );
  });
}

if (blas) {
  Deno.test("blas: large products (several BLAS threads) match the reference backend", async () => {
    const rng = new Rng(22);
    const ref = new ReferenceBackend();
    const m = 150, n = 130, k = 140;
    const a = rng.fillNormal(new Float32Array(m * k)), b = rng.fillNormal(new Float32Array(n * k));
    const out: Float32Array[] = [];
    for (const be of [ref, blas]) {
      const c = be.alloc([m, n]);
      be.matmul({ a: upload(be, a, [m, k]), b: upload(be, b, [n, k]), c, m, n, k, transB: true });
      out.push((await be.read(c)) as Float32Array);
    }
    assertClose(out[1], out[0], { atol: 1e-4, rtol: 1e-4 });
    assert.ok(blas.threads >= 1);
  });
}

for (const be of BACKENDS) {
  Deno.test(`${be.name}: sumRows() writes or accumulates column sums`, async () => {
    const rng = new Rng(23);
    const x = rng.fillNormal(new Float32Array(37 * 11));
    const out = be.alloc([11]);
    be.fill(out, 1);
    be.sumRows({ x: upload(be, x, [37, 11]), out, accumulate: true });
    const expect = Array.from(
      { length: 11 },
      (_, j) => 1 + Array.from({ length: 37 }, (_, i) => x[i * 11 + j]).reduce((s, v) => s + v, 0),
    );
    assertClose(await be.read(out), expect, { atol: 1e-5, rtol: 1e-5 });
    be.sumRows({ x: upload(be, x, [37, 11]), out });
    assertClose(await be.read(out), expect.map((v) => v - 1), { atol: 1e-5, rtol: 1e-5 });
  });
}

for (const be of [...BACKENDS, new ReferenceBackend({ precision: "float64" })]) {
  Deno.test(`${be.name}: backendConformance() passes for every operation`, async () => {
    const results = await backendConformance(be);
    assert.ok(results.length >= 14);
    const failed = results.filter((r) => !r.pass);
    assert.deepEqual(failed, [], failed.map((r) => `${r.op}: max abs ${r.maxAbs}`).join("; "));
  });
}

Deno.test("backendConformance() catches a wrong operation", async () => {
  class Broken extends ReferenceBackend {
    override softmaxBackward(a: { p: Tensor; dp: Tensor; dx: Tensor }): void {
      super.softmaxBackward(a);
      this.axpy({ x: a.p, y: a.dx, alpha: 1e-3 });
    }
  }
  const failed = (await backendConformance(new Broken())).filter((r) => !r.pass).map((r) => r.op);
  assert.deepEqual(failed, ["softmax + backward"]);
});
