import assert from "node:assert/strict";
import { assertClose, Rng } from "@vlp/testing";
import type { Backend, MatmulArgs, Tensor } from "../../backend.ts";
import { ReferenceBackend } from "../reference.ts";
import type { WebGpuBackend } from "./backend.ts";
import { GEMM_TILES } from "./kernels/matmul.ts";
import { gpuTest, kernelsDispatched, openGpu, twin } from "./test_utils.ts";

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  bias?: boolean;
  pad?: number; // extra columns in every leading dimension and offsets into the buffers
  batch?: number[];
}

/** Run one GEMM case on the reference and on `gpu` (random inputs, C pre-filled for beta ≠ 0). */
async function gemmCase(gpu: Backend, rng: Rng, cs: Case, label: string): Promise<void> {
  const { m, n, k, transA = false, transB = false, pad = 0 } = cs;
  const batch = cs.batch ?? [];
  const items = batch.reduce((x, y) => x * y, 1);
  const lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
  const aItem = (transA ? k : m) * lda, bItem = (transB ? n : k) * ldb, cItem = m * ldc;
  // batch strides: contiguous items, except that B is broadcast over the last batch dim when there are 2+
  const strides = (item: number, broadcastLast: boolean) => {
    const st: number[] = new Array(batch.length).fill(0);
    let s = item;
    for (let d = batch.length - 1; d >= 0; d--) {
      st[d] = broadcastLast && d === batch.length - 1 ? 0 : s;
      if (!(broadcastLast && d === batch.length - 1)) s *= batch[d];
    }
    return st;
  };
  const bcast = batch.length >= 2;
  const bItems = bcast ? items / batch.at(-1)! : items;
  const off = pad;
  const sizes = { a: off + aItem * items, b: off + bItem * bItems, c: off + cItem * items };
  const inputs = {
    a: { shape: [sizes.a], data: rng.fillNormal(new Float32Array(sizes.a)) },
    b: { shape: [sizes.b], data: rng.fillNormal(new Float32Array(sizes.b)) },
    c: { shape: [sizes.c], data: rng.fillNormal(new Float32Array(sizes.c)) },
    bias: { shape: [n], data: rng.fillNormal(new Float32Array(n)) },
  };
  await twin(
    gpu,
    inputs,
    (be, t) => {
      const args: MatmulArgs = {
        a: be.view(t.a, off, [sizes.a - off]),
        b: be.view(t.b, off, [sizes.b - off]),
        c: be.view(t.c, off, [sizes.c - off]),
        m,
        n,
        k,
        transA,
        transB,
        lda,
        ldb,
        ldc,
        alpha: cs.alpha ?? 1,
        beta: cs.beta ?? 0,
        bias: cs.bias ? t.bias : undefined,
      };
      if (batch.length) {
        args.batch = batch;
        args.strideA = strides(aItem, false);
        args.strideB = strides(bItem, bcast);
        args.strideC = strides(cItem, false);
      }
      be.matmul(args);
    },
    { c: { atol: 2e-5 * Math.sqrt(k + 1), rtol: 1e-5 } },
    label,
  );
}

const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;

gpuTest(
  "webgpu matmul matches the reference for NN/NT/TN/TT, awkward sizes, strides, alpha, beta and bias",
  async (gpu) => {
    const rng = new Rng(10);
    for (const [transA, transB] of TRANSPOSES) {
      await gemmCase(gpu, rng, { m: 7, n: 33, k: 19, transA, transB }, `tA=${transA} tB=${transB}`);
      await gemmCase(
        gpu,
        rng,
        { m: 33, n: 7, k: 40, transA, transB, pad: 3, alpha: 0.5, beta: 0.7 },
        `padded`,
      );
      await gemmCase(gpu, rng, { m: 5, n: 9, k: 3, transA, transB, bias: true, pad: 1 }, `bias`);
    }
    await gemmCase(gpu, rng, { m: 3, n: 4, k: 0, bias: true }, "k = 0");
  },
);

gpuTest(
  "webgpu matmul: batched with 1-, 2- and 3-d batches and a broadcast operand (attention shapes)",
  async (gpu) => {
    const rng = new Rng(11);
    // scores = Q·Kᵀ per (b, h) and context = P·V per (b, h), plus a 3-d batch
    await gemmCase(gpu, rng, { m: 7, n: 7, k: 5, transB: true, batch: [2, 3] }, "scores");
    await gemmCase(gpu, rng, { m: 7, n: 5, k: 7, batch: [2, 3], beta: 1 }, "context");
    await gemmCase(gpu, rng, { m: 4, n: 6, k: 3, transA: true, batch: [2, 2, 3], pad: 2 }, "3-d batch");
    await gemmCase(gpu, rng, { m: 9, n: 4, k: 6, batch: [5] }, "1-d batch");
  },
);

gpuTest(
  "webgpu matmul: the large-product tiles on a realistic small shape (B·L = 2·123 rows, C = 96, I = 384)",
  async (gpu) => {
    const rng = new Rng(12);
    await gemmCase(gpu, rng, { m: 246, n: 384, k: 96, transB: true, bias: true }, "fc1 large tiles");
    await gemmCase(
      gpu,
      rng,
      { m: 246, n: 130, k: 200, transA: false, transB: false, beta: 1 },
      "NN large tiles",
    );
  },
);

gpuTest(
  "webgpu matmul: every tile of GEMM_TILES, forced for the large products, matches the reference",
  async (_gpu) => {
    const rng = new Rng(16);
    for (const tile of Object.keys(GEMM_TILES) as (keyof typeof GEMM_TILES)[]) {
      // shapes that are not multiples of any tile, over every transpose case, with a bias or with beta
      const be = await openGpu({ gemmLargeTile: tile, splitK: false });
      try {
        for (const [transA, transB] of TRANSPOSES) {
          const label = `${tile} tA=${transA} tB=${transB}`;
          await gemmCase(be, rng, { m: 300, n: 140, k: 37, transA, transB, bias: true, pad: 1 }, label);
          await gemmCase(be, rng, { m: 130, n: 270, k: 21, transA, transB, beta: 0.5 }, `${label} beta`);
        }
      } finally {
        be.destroy();
      }
    }
  },
);

/** The GEMM kernels `run` dispatched on `be` (names). */
async function gemmKernelsOf(be: WebGpuBackend, run: () => Promise<void>): Promise<string[]> {
  return Object.keys(await kernelsDispatched(be, run)).filter((name) => name.startsWith("matmul_"));
}

gpuTest(
  "webgpu matmul: vec4 loads on every tile and transpose case, double-buffered tiles, odd shapes scalar",
  async (_gpu) => {
    const rng = new Rng(17);
    // the single- and double-buffered small tiles, and tiles with 1, 2 and 4 vec4 loads per invocation and
    // K-step (every tile's scalar loads: the test above)
    const tiles = ["small", "small_db", "large_k8_db", "half_m_db", "half_n_k8_db", "tall"] as const;
    for (const tile of tiles) {
      const be = await openGpu({ gemmTile: tile, splitK: false });
      try {
        for (const [transA, transB] of TRANSPOSES) {
          const label = `${tile} tA=${transA} tB=${transB}`;
          // multiples of 4 that no tile divides, padded leading dimensions and offsets of 4: both vec4
          const ran = await gemmKernelsOf(
            be,
            () =>
              gemmCase(
                be,
                rng,
                {
                  m: 132,
                  n: 68,
                  k: 44,
                  transA,
                  transB,
                  pad: 4,
                  ...(transA ? { beta: 0.5 } : { bias: true }),
                },
                label,
              ),
          );
          assert.deepEqual(ran.map((r) => r.endsWith("_v44")), [true], `${label}: ${ran}`);
        }
      } finally {
        be.destroy();
      }
    }
    // one operand aligned, the other not (k odd leaves only the operand whose rows run along m or n)
    const be = await openGpu({ gemmTile: "large_k8_db", splitK: false });
    try {
      for (
        const [transA, transB, suffix] of [[true, false, "_v44"], [false, false, "_v14"], [
          true,
          true,
          "_v41",
        ]] as const
      ) {
        const k = suffix === "_v44" ? 12 : 13;
        const ran = await gemmKernelsOf(
          be,
          () => gemmCase(be, rng, { m: 40, n: 24, k, transA, transB, batch: [3] }, `mixed ${suffix}`),
        );
        assert.deepEqual(ran.map((r) => r.endsWith(suffix)), [true], `mixed: ${ran}`);
      }
      // an odd offset (pad 1) and an odd size: scalar loads
      const ran = await gemmKernelsOf(
        be,
        () => gemmCase(be, rng, { m: 37, n: 29, k: 31, pad: 1, transB: true }, "scalar"),
      );
      assert.deepEqual(ran.map((r) => /_v\d\d$/.test(r)), [false], `scalar: ${ran}`);
    } finally {
      be.destroy();
    }
    // the same products with vec4 loads turned off are the scalar kernels, equal to the reference too
    const scalar = await openGpu({ gemmVec4: false, gemmTile: "half_n_db" });
    try {
      const ran = await gemmKernelsOf(
        scalar,
        () => gemmCase(scalar, rng, { m: 132, n: 68, k: 44, transA: true, pad: 4 }, "gemmVec4 false"),
      );
      assert.deepEqual(ran, ["matmul_tn_half_n_db_f32"]);
    } finally {
      scalar.destroy();
    }
  },
);

gpuTest(
  "webgpu matmul: double buffering and vec4 loads keep the K-tile summation order (bit-identical results)",
  async (_gpu) => {
    // the same BK and TM×TN: one-stage scalar, one-stage vec4, two-stage vec4 and two-stage scalar agree
    // exactly (each K tile summed apart in the same order); any change of order would show as float32 noise
    const rng = new Rng(18);
    const [m, n, k] = [136, 132, 72];
    const a = rng.fillNormal(new Float32Array(m * k)), b = rng.fillNormal(new Float32Array(n * k));
    const results: Float32Array[] = [];
    for (
      const opts of [
        { gemmTile: "large_k8", gemmVec4: false },
        { gemmTile: "large_k8" },
        { gemmTile: "large_k8_db" },
        { gemmTile: "large_k8_db", gemmVec4: false },
      ] as const
    ) {
      const be = await openGpu({ ...opts, splitK: false });
      try {
        const [ta, tb, tc] = [be.alloc([m * k]), be.alloc([n * k]), be.alloc([m * n])];
        be.write(ta, a);
        be.write(tb, b);
        be.matmul({ a: ta, b: tb, c: tc, m, n, k, transB: true });
        results.push(Float32Array.from(await be.read(tc)));
      } finally {
        be.destroy();
      }
    }
    for (const r of results.slice(1)) assert.deepEqual(r, results[0]);
  },
);

gpuTest(
  "webgpu matmul: VLP_GEMM_TILES names a sweep's record whose table the backend then follows",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const entries = [{ transA: false, transB: true, m: 132, n: 136, k: 44, tile: "half_m_db" }];
      await Deno.writeTextFile(`${dir}/rec.json`, JSON.stringify({ gemmTable: { source: "test", entries } }));
      Deno.env.set("VLP_GEMM_TILES", `${dir}/rec.json`);
      const be = await openGpu({});
      try {
        const ran = await gemmKernelsOf(
          be,
          () => gemmCase(be, new Rng(19), { m: 132, n: 136, k: 44, transB: true }, "env table"),
        );
        assert.deepEqual(ran, ["matmul_nt_half_m_db_f32_v44"]);
      } finally {
        be.destroy();
      }
      Deno.env.set("VLP_GEMM_TILES", `${dir}/missing.json`);
      await assert.rejects(() => openGpu({}), /GEMM tile table of .*missing\.json/);
    } finally {
      Deno.env.delete("VLP_GEMM_TILES");
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest(
  "webgpu matmul: split-K for weight gradients (k = B·L long, m×n small) matches the reference",
  async (gpu) => {
    const rng = new Rng(13);
    // dW [n_out, n_in] += dYᵀ·X with k = 1100 rows
    await gemmCase(gpu, rng, { m: 24, n: 40, k: 1100, transA: true, beta: 1 }, "split-K TN accumulate");
    await gemmCase(gpu, rng, { m: 24, n: 40, k: 1100, transA: true }, "split-K TN");
    // the equal k-ranges run as one batched dispatch, a shorter rest as a second, then one sum
    for (const [k, gemms] of [[1100, 2], [1152, 1]]) {
      const before = gpu.rt.dispatchCount;
      await gemmCase(gpu, rng, { m: 24, n: 40, k, transA: true, beta: 1 }, `split-K TN k ${k}`);
      assert.equal(gpu.rt.dispatchCount - before, gemms + 1, `split-K dispatches at k ${k}`);
    }
    await gemmCase(gpu, rng, { m: 24, n: 40, k: 1152 }, "split-K NN, equal ranges");
  },
);

gpuTest(
  "webgpu matmul: binding-limit splits (batch, m, n, k) and grid spreading give the same result",
  async (_gpu) => {
    // a 4 KiB binding limit and 3 workgroups per grid dimension force every split path on small shapes
    const small = await openGpu({ maxBindingBytes: 4096, maxWorkgroupsPerDim: 3 });
    try {
      const rng = new Rng(14);
      for (const [transA, transB] of TRANSPOSES) {
        const before = small.rt.dispatchCount;
        await gemmCase(
          small,
          rng,
          { m: 70, n: 45, k: 37, transA, transB, bias: true },
          `split tA=${transA} tB=${transB}`,
        );
        assert.ok(small.rt.dispatchCount - before > 4, "the product was split into several dispatches");
      }
      await gemmCase(small, rng, { m: 9, n: 11, k: 13, batch: [4, 5], beta: 0.5 }, "split batch");
      await gemmCase(small, rng, { m: 3, n: 2, k: 700, transA: true }, "split k");
    } finally {
      small.destroy();
    }
  },
);

gpuTest("webgpu matmul: float16 inputs (shader-f16) with float32 accumulation", async (gpu) => {
  if (!gpu.hasF16) return;
  const rng = new Rng(15);
  const [m, n, k] = [37, 70, 45];
  const a = Float32Array.from(rng.fillNormal(new Float32Array(m * k)), (v) => Math.fround(f16(v)));
  const b = Float32Array.from(rng.fillNormal(new Float32Array(n * k)), (v) => Math.fround(f16(v)));
  const ref = new ReferenceBackend();
  const expect = await mm(ref, a, b, m, n, k, (s) => ref.alloc(s));
  const got = await mm(gpu, a, b, m, n, k, (s) => gpu.allocF16(s));
  assertClose(got, expect, { atol: 1e-4, rtol: 1e-4, name: "f16 matmul" });
  assert.throws(() => gpu.add({ a: gpu.allocF16([2]), b: gpu.alloc([2]), out: gpu.alloc([2]) }), TypeError);
});

function f16(v: number): number {
  return new Float16Array([v])[0];
}

async function mm(
  be: Backend | WebGpuBackend,
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  allocIn: (s: number[]) => Tensor,
): Promise<Float32Array> {
  const ta = allocIn([m, k]), tb = allocIn([n, k]), tc = be.alloc([m, n]);
  be.write(ta, a);
  be.write(tb, b);
  be.matmul({ a: ta, b: tb, c: tc, m, n, k, transB: true });
  return (await be.read(tc)) as Float32Array;
}
