import assert from "node:assert/strict";
import { assertClose, Rng } from "@vlp/testing";
import type { HostArray, Tensor } from "../../backend.ts";
import { linearBackward } from "../../layers.ts";
import { ReferenceBackend } from "../reference.ts";
import type { WebGpuBackend, WebGpuOptions } from "./backend.ts";
import { gpuTest, kernelsDispatched, openGpu } from "./test_utils.ts";
import { GEMM_TILES, gemmTileBytes, type GemmTileName, type GemmVariant } from "./kernels/matmul.ts";
import { gemmPairBytes, gemmPairKernel } from "./kernels/matmul_pair.ts";

// A Linear's two backward products in one matmul_pair dispatch (ops/matmul.ts matmulPair,
// kernels/matmul_pair.ts) against its twin, the same products run apart (gemmPair: false), and the reference.

interface Case {
  /** rows M, outputs N, inputs K of y [M, N] = x [M, K]·Wᵀ */
  m: number;
  n: number;
  k: number;
  accumulateDx?: boolean;
  /** w in float16 (the --fp16 weights) */
  half?: boolean;
  /** the backend's float16 GEMM math (gemmHalfMath) */
  halfMath?: boolean;
}

interface Inputs {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  db: Float32Array;
}

function inputs(rng: Rng, cs: Case): Inputs {
  const { m, n, k } = cs;
  const w = rng.fillNormal(new Float32Array(n * k));
  return {
    x: rng.fillNormal(new Float32Array(m * k)),
    w: cs.half ? Float32Array.from(w, (v) => new Float16Array([v])[0]) : w,
    dy: rng.fillNormal(new Float32Array(m * n)),
    dx: rng.fillNormal(new Float32Array(m * k)),
    dw: rng.fillNormal(new Float32Array(n * k)),
    db: rng.fillNormal(new Float32Array(n)),
  };
}

/** linearBackward on `be` (fused on the GPU); the outputs dx, dw, db and the kernels it dispatched. */
async function backward(
  be: WebGpuBackend | ReferenceBackend,
  cs: Case,
  x: Inputs,
): Promise<{ out: HostArray[]; kernels: Record<string, number> }> {
  const gpu = "rt" in be ? be : null;
  const { m, n, k } = cs;
  const put = (data: Float32Array, shape: number[], half = false): Tensor => {
    const t = half && gpu ? gpu.allocF16(shape) : be.alloc(shape);
    be.write(t, data);
    return t;
  };
  const t = {
    x: put(x.x, [m, k]),
    w: put(x.w, [n, k], cs.half),
    dy: put(x.dy, [m, n]),
    dx: put(x.dx, [m, k]),
    dw: put(x.dw, [n, k]),
    db: put(x.db, [n]),
  };
  const op = () => linearBackward(be, { ...t, accumulateDx: cs.accumulateDx });
  const kernels = gpu ? await kernelsDispatched(gpu, op) : (op(), {});
  const out = [await be.read(t.dx), await be.read(t.dw), await be.read(t.db)];
  for (const v of Object.values(t)) be.free(v);
  return { out, kernels };
}

/** The case on a backend opened with `opts`, paired and apart. */
async function pairedAndApart(opts: WebGpuOptions, cs: Case, x: Inputs) {
  const results = [];
  for (const gemmPair of [true, false]) {
    const be = await openGpu({ ...opts, gemmPair });
    try {
      results.push(await backward(be, cs, x));
    } finally {
      be.destroy();
    }
  }
  return results;
}

const pairs = (kernels: Record<string, number>) =>
  Object.entries(kernels).filter(([name]) => name.startsWith("matmul_pair_")).reduce((s, [, c]) => s + c, 0);

const CASES: (Case & { label: string })[] = [
  // vec4 loads on both products; odd shapes (scalar loads, partial tiles)
  { m: 136, n: 72, k: 40, label: "vec4" },
  { m: 61, n: 37, k: 29, label: "odd" },
  // dx += (the QKV input gradient onto the residual stream)
  { m: 70, n: 48, k: 36, accumulateDx: true, label: "accumulate dx" },
  // dW over a long k with few output tiles: split-K, whose batch of equal parts joins the pair
  { m: 1100, n: 24, k: 40, label: "split-K dW" },
  { m: 1300, n: 36, k: 20, label: "split-K dW with a shorter last part" },
];

gpuTest(
  "webgpu linearBackward: dX and dW in one matmul_pair dispatch equal the two GEMMs apart, bit for bit",
  async (gpu) => {
    const rng = new Rng(41);
    const cases = [
      ...CASES,
      ...(gpu.hasF16
        ? [
          { m: 90, n: 40, k: 44, half: true, label: "float16 w" },
          // dX in float16 math (_m16: float16 tiles) beside dW in float32: arrays of its own
          { m: 90, n: 40, k: 44, half: true, halfMath: true, label: "float16 w, float16 math" },
        ]
        : []),
    ];
    // one tile forced, so that both paths run the same tile and so the same summation order
    for (const tile of ["large_k8", "small_db", "half_n"] as const) {
      for (const cs of cases) {
        const x = inputs(rng, cs);
        const [paired, apart] = await pairedAndApart({ gemmTile: tile, gemmHalfMath: cs.halfMath }, cs, x);
        const label = `${cs.label} (${tile})`;
        assert.equal(
          pairs(paired.kernels),
          1,
          `${label}: one pair dispatched (${Object.keys(paired.kernels)})`,
        );
        assert.equal(pairs(apart.kernels), 0, `${label}: none apart`);
        if (cs.halfMath) assert.ok(Object.keys(paired.kernels).some((k) => k.includes("_m16")), label);
        const count = (k: Record<string, number>) => Object.values(k).reduce((s, c) => s + c, 0);
        assert.equal(count(paired.kernels), count(apart.kernels) - 1, `${label}: one dispatch fewer`);
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(paired.out[i], apart.out[i], `${label}: ${["dx", "dw", "db"][i]}`);
        }
      }
    }
  },
);

gpuTest(
  "webgpu linearBackward: the paired products with the default tile table match the reference",
  async (gpu) => {
    const rng = new Rng(42);
    const ref = new ReferenceBackend();
    for (const cs of [...CASES, { m: 7872 / 8, n: 96, k: 72, label: "BERT-like" }]) {
      const x = inputs(rng, cs);
      const want = await backward(ref, cs, x);
      const got = await backward(gpu, cs, x);
      assert.equal(pairs(got.kernels), 1, `${cs.label}: paired (${Object.keys(got.kernels)})`);
      const tol = (len: number) => ({ atol: 2e-5 * Math.sqrt(len + 1), rtol: 1e-5 });
      assertClose(got.out[0], want.out[0], { ...tol(cs.n), name: `${cs.label} dx` });
      assertClose(got.out[1], want.out[1], { ...tol(cs.m), name: `${cs.label} dw` });
      assertClose(got.out[2], want.out[2], { ...tol(cs.m), name: `${cs.label} db` });
    }
  },
);

gpuTest(
  "webgpu linearBackward: products that touch each other's tensors run apart, in order (dx written over x)",
  async (gpu) => {
    // dx is x: dW must read the x that dX has just written, so the pair may not run them together
    const [m, n, k] = [64, 40, 48];
    const rng = new Rng(43);
    const x = rng.fillNormal(new Float32Array(m * k)), w = rng.fillNormal(new Float32Array(n * k));
    const dy = rng.fillNormal(new Float32Array(m * n));
    const run = async (be: WebGpuBackend | ReferenceBackend) => {
      const t = { x: be.alloc([m, k]), w: be.alloc([n, k]), dy: be.alloc([m, n]), dw: be.alloc([n, k]) };
      be.write(t.x, x);
      be.write(t.w, w);
      be.write(t.dy, dy);
      linearBackward(be, { x: t.x, w: t.w, dy: t.dy, dx: t.x, dw: t.dw, db: null });
      const out = [await be.read(t.x), await be.read(t.dw)];
      for (const v of Object.values(t)) be.free(v);
      return out;
    };
    let got: HostArray[] = [];
    const ran = await kernelsDispatched(gpu, async () => {
      got = await run(gpu);
    });
    const want = await run(new ReferenceBackend());
    assert.equal(pairs(ran), 0, "not paired");
    assertClose(got[0], want[0], { atol: 1e-4, rtol: 1e-5, name: "dx" });
    assertClose(got[1], want[1], { atol: 1e-3, rtol: 1e-5, name: "dw from the new x" });
  },
);

Deno.test("matmul_pair: workgroup memory is the tile's, plus product 1's own A or B array where its types differ", () => {
  const v = (tile: GemmTileName, elemB: "f32" | "f16" = "f32"): GemmVariant => ({
    transA: false,
    transB: false,
    tile,
    elem: "f32",
    elemB,
  });
  for (const tile of Object.keys(GEMM_TILES) as GemmTileName[]) {
    assert.equal(gemmPairBytes(v(tile), v(tile)), gemmTileBytes(tile), tile);
    const t = GEMM_TILES[tile];
    // a float16 B of product 1 (the --fp16 weights beside a float32 activation): its own Bs, 8 bytes a vec4
    assert.equal(
      gemmPairBytes(v(tile), v(tile, "f16")),
      gemmTileBytes(tile) + t.stages * t.bk * (t.bn / 4 + 1) * 8,
    );
    // the pair's WGSL declares exactly those arrays
    const body = gemmPairKernel(v(tile), v(tile, "f16")).body;
    assert.deepEqual(body.match(/var<workgroup> \w+/g), [
      "var<workgroup> As",
      "var<workgroup> Bs",
      "var<workgroup> Bs_1",
    ]);
  }
  assert.throws(() => gemmPairKernel(v("small"), v("large")), /tiles small and large/);
});
