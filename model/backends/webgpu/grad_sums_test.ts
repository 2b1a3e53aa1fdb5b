import assert from "node:assert/strict";
import { Rng } from "../../rng.ts";
import type { Backend, Tensor } from "../../backend.ts";
import { gpuTest, openGpu, twin, type TwinInput } from "./test_utils.ts";
import { Dispatcher } from "./dispatch.ts";
import { GradSums, sumChunksGroupHost } from "./ops/grad_sums.ts";
import { gpuTensor } from "./runtime.ts";
import type { WebGpuBackend } from "./backend.ts";

// The held-back parameter-gradient sums (ops/grad_sums.ts): the grouped kernel against its host twin, and
// every fused op that holds sums back giving the same bits held as at once.

const rng = new Rng(23);
const u = (n: number, lo = -1, hi = 1) => rng.fillUniform(new Float32Array(n), lo, hi);

/** Jobs of various sizes onto disjoint places of one destination tensor; returns the flush's dispatches. */
async function groupCase(maxBindingBytes: number): Promise<number> {
  const gpu = await openGpu({ maxBindingBytes });
  try {
    const d = new Dispatcher(gpu.rt);
    const sums = new GradSums(d);
    const dstHost = u(3000);
    const dst = gpuTensor(gpu.alloc([3000]));
    gpu.write(dst, dstHost);
    const jobs: { src: Float32Array; chunks: number; n: number; dst: number }[] = [];
    sums.hold();
    let at = 0;
    for (const [chunks, n] of [[3, 40], [1, 7], [5, 64], [2, 100], [4, 33], [7, 20], [1, 1], [6, 50]]) {
      const part = sums.alloc(chunks * n)!;
      assert.ok(part, "held scratch");
      const data = u(chunks * n);
      gpu.write(part, data);
      // destinations spread over the tensor, out of order, disjoint
      const off = (at++ * 1237) % (3000 - n);
      if (jobs.some((j) => off < j.dst + j.n && j.dst < off + n)) continue;
      sums.add(part, chunks, n, d.sub(dst, off, n));
      jobs.push({ src: data, chunks, n, dst: off });
    }
    const before = gpu.rt.dispatchCount;
    sums.finish();
    const dispatches = gpu.rt.dispatchCount - before;
    const want = Float32Array.from(dstHost);
    for (const j of jobs) sumChunksGroupHost(j.src, want, [{ src: 0, chunks: j.chunks, n: j.n, dst: j.dst }]);
    assert.deepEqual(await gpu.read(dst), want);
    assert.equal(sums.alloc(10), null, "not held: nothing is handed out");
    return dispatches;
  } finally {
    gpu.destroy();
  }
}

gpuTest("sum_chunks_group equals its host twin, in one dispatch or across segments and windows", async () => {
  assert.equal(await groupCase(1 << 20), 1, "one segment, one window: one dispatch");
  // 2 KiB bindings: segments of at most 448 floats, destination windows of at most 448 elements
  assert.ok((await groupCase(2048)) > 1, "several segments or windows");
});

/**
 * Run `op` on fresh copies of `inputs` once at once and once with the sums held back (then finished), on
 * the same backend; the outputs must be bit-identical, and holding must take no more dispatches (one op's
 * final sums become one grouped dispatch; the savings come from many ops in one hold).
 */
async function heldEqualsImmediate(
  gpu: WebGpuBackend,
  inputs: Record<string, TwinInput>,
  op: (be: Backend, t: Record<string, Tensor>) => void,
  outputs: string[],
  label: string,
  flat: string[] = [],
): Promise<void> {
  const run = async (hold: boolean) => {
    const ts: Record<string, Tensor> = {};
    // the inputs named in `flat`: views of one tensor, as a model's gradients are of its flat table
    const flatSize = flat.reduce((x, name) => x + inputs[name].shape.reduce((p, q) => p * q, 1) + 100, 0);
    const table = gpu.alloc([Math.max(1, flatSize)]);
    let at = 0;
    for (const [name, inp] of Object.entries(inputs)) {
      if (flat.includes(name)) {
        ts[name] = gpu.view(table, at, inp.shape);
        at += ts[name].size + 100;
      } else ts[name] = gpu.alloc(inp.shape, inp.dtype ?? "float");
      if (inp.data) gpu.write(ts[name], inp.data);
    }
    await gpu.sync();
    const before = gpu.rt.dispatchCount;
    if (hold) gpu.fused!.holdGradientSums();
    op(gpu, ts);
    if (hold) gpu.fused!.finishGradientSums();
    const dispatches = gpu.rt.dispatchCount - before;
    const out: Record<string, Float32Array> = {};
    for (const name of outputs) out[name] = (await gpu.read(ts[name])) as Float32Array;
    for (const t of Object.values(ts)) gpu.free(t);
    gpu.free(table);
    return { out, dispatches };
  };
  const now = await run(false), held = await run(true);
  for (const name of outputs) assert.deepEqual(held.out[name], now.out[name], `${label}: ${name}`);
  assert.ok(held.dispatches <= now.dispatches, `${label}: ${held.dispatches} ≤ ${now.dispatches} dispatches`);
}

gpuTest("held-back sums: the epilogue backward, GELU backward and attention backward", async (gpu) => {
  const [rows, c] = [70, 40];
  await heldEqualsImmediate(
    gpu,
    {
      dout: { shape: [rows, c], data: u(rows * c) },
      res: { shape: [rows, c], data: u(rows * c) },
      mean: { shape: [rows], data: u(rows) },
      rstd: { shape: [rows], data: u(rows, 0.5, 2) },
      weight: { shape: [c], data: u(c) },
      dres: { shape: [rows, c] },
      dproj: { shape: [rows, c] },
      dweight: { shape: [c], data: u(c) },
      dbias: { shape: [c], data: u(c) },
      dprojBias: { shape: [c], data: u(c) },
    },
    (be, t) =>
      be.fused!.residualLayernormBackward({
        dout: t.dout,
        res: t.res,
        mean: t.mean,
        rstd: t.rstd,
        weight: t.weight,
        dres: t.dres,
        dproj: t.dproj,
        dweight: t.dweight,
        dbias: t.dbias,
        dprojBias: t.dprojBias,
        dropout: { p: 0.1, seed: 3 },
      }),
    ["dres", "dproj", "dweight", "dbias", "dprojBias"],
    "residualLayernormBackward",
    [
      "dweight",
      "dbias",
      "dprojBias",
    ],
  );
  await heldEqualsImmediate(
    gpu,
    {
      a: { shape: [300, 24], data: u(300 * 24) },
      b: { shape: [300, 24], data: u(300 * 24) },
      out: { shape: [300, 24] },
      dsum: { shape: [24], data: u(24) },
    },
    (be, t) => be.fused!.mulColumnSum({ a: t.a, b: t.b, out: t.out, dsum: t.dsum }),
    [
      "out",
      "dsum",
    ],
    "mulColumnSum",
  );
  const [S, L, NH, HS] = [3, 9, 2, 8], C = NH * HS;
  await heldEqualsImmediate(
    gpu,
    {
      qkv: { shape: [S * L, 3 * C], data: u(S * L * 3 * C) },
      probs: { shape: [S, NH, L, L], data: u(S * NH * L * L, 0, 0.3) },
      dctx: { shape: [S * L, C], data: u(S * L * C) },
      dqkv: { shape: [S * L, 3 * C] },
      dbias: { shape: [3 * C], data: u(3 * C) },
    },
    (be, t) => {
      const ok = be.fused!.attentionBackward({
        qkv: t.qkv,
        probs: t.probs,
        dctx: t.dctx,
        dqkv: t.dqkv,
        dbias: t.dbias,
        dims: { S, L, NH, HS },
        dropout: { p: 0.1, seed: 9 },
      });
      assert.ok(ok);
    },
    ["dqkv", "dbias"],
    "attentionBackward",
  );
});

/** A Linear's weight gradient and bias sum: fused where the backend has it, else matmul and sumRows. */
function weightGradOp(withBias: boolean) {
  return (be: Backend, t: Record<string, Tensor>) => {
    const db = withBias ? { db: t.db } : {};
    if (be.fused) return be.fused.linearBackward({ x: t.x, w: t.w, dy: t.dy, dw: t.dw, ...db });
    const [n, k] = t.dw.shape, m = t.x.size / k;
    be.matmul({ a: t.dy, b: t.x, c: t.dw, m: n, n: k, k: m, transA: true, beta: 1 });
    if (withBias) be.sumRows({ x: t.dy, out: t.db, accumulate: true });
  };
}

function weightGradInputs(m: number, n: number, k: number): Record<string, TwinInput> {
  return {
    x: { shape: [m, k], data: u(m * k) },
    w: { shape: [n, k], data: u(n * k) },
    dy: { shape: [m, n], data: u(m * n) },
    dw: { shape: [n, k], data: u(n * k) },
    db: { shape: [n], data: u(n) },
  };
}

for (const [m, n, k] of [[1100, 24, 40], [100, 30, 20], [50, 9, 7]]) {
  gpuTest(`fused linearBackward equals matmul + sumRows (${m} rows, dw [${n}, ${k}])`, async (gpu) => {
    const tol = { dw: { atol: 2e-4, rtol: 1e-5 }, db: { atol: 2e-5, rtol: 1e-5 } };
    await twin(gpu, weightGradInputs(m, n, k), weightGradOp(true), tol);
    await twin(gpu, weightGradInputs(m, n, k), weightGradOp(false), { dw: tol.dw });
    // held back: the split-K sum (1100 rows) and the bias sum (more than 64 rows)
    if (m > 64) {
      await heldEqualsImmediate(
        gpu,
        weightGradInputs(m, n, k),
        weightGradOp(true),
        ["dw", "db"],
        `${m} rows`,
        [
          "dw",
          "db",
        ],
      );
    }
  });
}

gpuTest("held-back sums are added before a read, and a finished hold hands out nothing", async (gpu) => {
  const t = {
    x: gpu.alloc([200, 8]),
    w: gpu.alloc([5, 8]),
    dy: gpu.alloc([200, 5]),
    dw: gpu.alloc([5, 8]),
    db: gpu.alloc([5]),
  };
  gpu.write(t.x, u(1600));
  gpu.write(t.dy, new Float32Array(1000).fill(1));
  gpu.fused!.holdGradientSums();
  try {
    gpu.fused!.linearBackward(t);
    // read while held: the pending bias sum is added first
    assert.deepEqual(await gpu.read(t.db), new Float32Array(5).fill(200));
  } finally {
    gpu.fused!.finishGradientSums();
  }
  assert.deepEqual(await gpu.read(t.db), new Float32Array(5).fill(200), "added once");
  for (const x of Object.values(t)) gpu.free(x);
});

/** LayerNorm backward inputs: rows × c. */
function lnBackwardInputs(rows: number, c: number): Record<string, TwinInput> {
  return {
    dout: { shape: [rows, c], data: u(rows * c) },
    x: { shape: [rows, c], data: u(rows * c) },
    mean: { shape: [rows], data: u(rows, -0.1, 0.1) },
    rstd: { shape: [rows], data: u(rows, 0.5, 2) },
    weight: { shape: [c], data: u(c) },
    dx: { shape: [rows, c] },
    dweight: { shape: [c], data: u(c) },
    dbias: { shape: [c], data: u(c) },
  };
}

const lnBackwardOp = (be: Backend, t: Record<string, Tensor>) =>
  be.layernormBackward({
    dout: t.dout,
    x: t.x,
    mean: t.mean,
    rstd: t.rstd,
    weight: t.weight,
    dx: t.dx,
    dweight: t.dweight,
    dbias: t.dbias,
  });

gpuTest("held-back sums: layernormBackward's parameter sums", async (gpu) => {
  // 200 rows: 4 chunks of 64, added in one sequence either way (bit-identical)
  await heldEqualsImmediate(gpu, lnBackwardInputs(200, 24), lnBackwardOp, ["dx", "dweight", "dbias"], "LN", [
    "dweight",
    "dbias",
  ]);
  // 70 chunks: held, all chunks in one sequence (at once: two stages); both against the reference
  const inputs = lnBackwardInputs(70 * 64, 8);
  const ref = await twin(gpu, inputs, lnBackwardOp, { dweight: { atol: 2e-4 }, dbias: { atol: 2e-4 } });
  const ts: Record<string, Tensor> = {};
  for (const [name, inp] of Object.entries(inputs)) {
    ts[name] = gpu.alloc(inp.shape);
    if (inp.data) gpu.write(ts[name], inp.data);
  }
  gpu.fused!.holdGradientSums();
  lnBackwardOp(gpu, ts);
  gpu.fused!.finishGradientSums();
  for (const name of ["dweight", "dbias"]) {
    const got = await gpu.read(ts[name]), want = ref[name][1];
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 2e-4, `${name}[${i}]`);
  }
  for (const t of Object.values(ts)) gpu.free(t);
});
