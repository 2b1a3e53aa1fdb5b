import assert from "node:assert/strict";
import { Rng } from "../../rng.ts";
import type { Backend, Tensor } from "../../backend.ts";
import { gpuTest, openGpu, twin, type TwinInput } from "./test_utils.ts";
import { attentionBackward, attentionForward } from "../../layers.ts";
import type { GpuFusedOps } from "./ops/fused.ts";
import { RLN_CHUNK_MAX_C } from "./kernels/residual_layernorm_backward_chunk.ts";

// Each fused operation (ops/fused.ts) against its reference twin: the unfused list of backend calls its
// interface names, run on the float32 reference backend (which has no `fused`).

const rng = new Rng(11);
const u = (n: number, lo = -1, hi = 1) => rng.fillUniform(new Float32Array(n), lo, hi);

/** Inputs of an output block's epilogue: rows × C. */
function blockInputs(rows: number, c: number): Record<string, TwinInput> {
  return {
    proj: { shape: [rows, c], data: u(rows * c) },
    resid: { shape: [rows, c], data: u(rows * c) },
    weight: { shape: [c], data: u(c, 0.5, 1.5) },
    bias: { shape: [c], data: u(c) },
    res: { shape: [rows, c] },
    out: { shape: [rows, c] },
    mean: { shape: [rows] },
    rstd: { shape: [rows] },
    dout: { shape: [rows, c], data: u(rows * c) },
    dres: { shape: [rows, c] },
    dproj: { shape: [rows, c] },
    dweight: { shape: [c], data: u(c) }, // gradients accumulate onto what is there
    dbias: { shape: [c], data: u(c) },
    dprojBias: { shape: [c], data: u(c) },
  };
}

/** Forward and backward of the epilogue: fused where the backend has it, else the unfused calls. */
function blockOp(drop: { p: number; seed: number } | null) {
  return (be: Backend, t: Record<string, Tensor>) => {
    const eps = 1e-5;
    if (be.fused) {
      be.fused.residualLayernorm({
        ...pick(t, "proj", "resid", "weight", "bias", "res", "out", "mean", "rstd"),
        eps,
        dropout: drop,
      });
      be.fused.residualLayernormBackward({
        ...pick(t, "dout", "res", "mean", "rstd", "weight", "dres", "dproj", "dweight", "dbias", "dprojBias"),
        dropout: drop,
      });
      return;
    }
    const dropped = be.alloc(t.proj.shape);
    if (drop) be.dropout({ x: t.proj, out: dropped, ...drop });
    be.add({ a: drop ? dropped : t.proj, b: t.resid, out: t.res });
    be.layernorm({ x: t.res, weight: t.weight, bias: t.bias, out: t.out, mean: t.mean, rstd: t.rstd, eps });
    be.layernormBackward({
      dout: t.dout,
      x: t.res,
      mean: t.mean,
      rstd: t.rstd,
      weight: t.weight,
      dx: t.dres,
      dweight: t.dweight,
      dbias: t.dbias,
    });
    if (drop) be.dropoutBackward({ dout: t.dres, dx: t.dproj, ...drop });
    else be.copy(t.dres, t.dproj);
    be.sumRows({ x: t.dproj, out: t.dprojBias, accumulate: true });
    be.free(dropped);
  };
}

function pick<K extends string>(t: Record<string, Tensor>, ...names: K[]): Record<K, Tensor> {
  return Object.fromEntries(names.map((n) => [n, t[n]])) as Record<K, Tensor>;
}

const BLOCK_TOL = {
  res: { atol: 1e-6 },
  out: { atol: 2e-5 },
  mean: { atol: 1e-6 },
  rstd: { atol: 2e-5, rtol: 1e-5 },
  dres: { atol: 2e-5 },
  dproj: { atol: 3e-5 },
  dweight: { atol: 1e-4 },
  dbias: { atol: 1e-4 },
  dprojBias: { atol: 1e-4 },
};

for (
  const [rows, c, drop] of [[5, 48, null], [200, 40, { p: 0.1, seed: 1234 }], [3, 300, {
    p: 0.3,
    seed: 7,
  }]] as const
) {
  gpuTest(
    `fused residual + dropout + LayerNorm and its backward equal the unfused calls (${rows}×${c}, dropout ${
      drop ? drop.p : "off"
    })`,
    async (gpu) => {
      await twin(gpu, blockInputs(rows, c), blockOp(drop), BLOCK_TOL);
    },
  );
}

gpuTest("fused residual LayerNorm splits rows by the binding limit with the same dropout mask", async () => {
  const small = await openGpu({ maxBindingBytes: 1024 }); // 256 floats: 6 rows of 40 per part
  try {
    await twin(small, blockInputs(50, 40), blockOp({ p: 0.2, seed: 99 }), BLOCK_TOL);
    assert.ok(small.rt.counter.snapshot().kernels["residual_layernorm"] > 1, "split into several dispatches");
  } finally {
    small.destroy();
  }
});

gpuTest(
  "the epilogue backward runs as one chunk kernel up to C = 1024, else as the three-kernel path",
  async (gpu) => {
    const fused = gpu.fused as GpuFusedOps;
    const drop = { p: 0.2, seed: 5 };
    // 70 rows: five chunks of 16 rows, the last one partial
    const count = async (c: number) => {
      const before = gpu.rt.counter.snapshot().kernels;
      await twin(gpu, blockInputs(70, c), blockOp(drop), BLOCK_TOL);
      const after = gpu.rt.counter.snapshot().kernels;
      const k = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
      return [k("residual_layernorm_backward_chunk"), k("residual_layernorm_backward")];
    };
    assert.deepEqual(await count(RLN_CHUNK_MAX_C), [1, 0]);
    assert.deepEqual(await count(RLN_CHUNK_MAX_C + 3), [0, 1]);
    fused.chunkedEpilogueBackward = false; // the three-kernel twin at a width the chunk kernel takes
    try {
      assert.deepEqual(await count(130), [0, 1]);
    } finally {
      fused.chunkedEpilogueBackward = true;
    }
  },
);

/** Attention scores [S, NH, Lq, Lk] with an additive [S, Lq, Lk] mask. */
function softmaxInputs(S: number, NH: number, L: number): Record<string, TwinInput> {
  const n = S * NH * L * L;
  const mask = new Float32Array(S * L * L);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() < 0.3 * 2 ** 32 ? -10000 : 0;
  return {
    x: { shape: [S, NH, L, L], data: u(n, -4, 4) },
    mask: { shape: [S, L, L], data: mask },
    probs: { shape: [S, NH, L, L] },
    dropped: { shape: [S, NH, L, L] },
    ddropped: { shape: [S, NH, L, L], data: u(n) },
    dx: { shape: [S, NH, L, L] },
  };
}

function softmaxOp(p: number, seed: number) {
  return (be: Backend, t: Record<string, Tensor>) => {
    if (be.fused) {
      be.fused.softmaxDropout({ x: t.x, mask: t.mask, probs: t.probs, dropped: t.dropped, p, seed });
      be.fused.softmaxDropoutBackward({ probs: t.probs, ddropped: t.ddropped, dx: t.dx, p, seed });
      return;
    }
    be.softmax({ x: t.x, mask: t.mask, out: t.probs });
    be.dropout({ x: t.probs, out: t.dropped, p, seed });
    const dp = be.alloc(t.probs.shape);
    be.dropoutBackward({ dout: t.ddropped, dx: dp, p, seed });
    be.softmaxBackward({ p: t.probs, dp, dx: t.dx });
    be.free(dp);
  };
}

const SOFTMAX_TOL = { probs: { atol: 1e-6 }, dropped: { atol: 2e-6 }, dx: { atol: 2e-6 } };

gpuTest("fused softmax + dropout and its backward equal the unfused calls", async (gpu) => {
  await twin(gpu, softmaxInputs(2, 3, 13), softmaxOp(0.1, 4321), SOFTMAX_TOL);
  await twin(gpu, softmaxInputs(1, 2, 70), softmaxOp(0.5, 5), SOFTMAX_TOL);
});

gpuTest("fused softmax + dropout splits rows by the binding limit with the same mask", async () => {
  const small = await openGpu({ maxBindingBytes: 1024 });
  try {
    await twin(small, softmaxInputs(1, 4, 12), softmaxOp(0.25, 77), SOFTMAX_TOL);
    assert.ok(small.rt.counter.snapshot().kernels["softmax_dropout"] > 1, "split into several dispatches");
  } finally {
    small.destroy();
  }
});

/** Inputs of one self-attention call. */
function attentionInputs(S: number, L: number, NH: number, HS: number): Record<string, TwinInput> {
  const C = NH * HS;
  const mask = new Float32Array(S * L * L);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextU32() < 0.25 * 2 ** 32 ? -10000 : 0;
  return {
    qkv: { shape: [S * L, 3 * C], data: u(S * L * 3 * C, -2, 2) },
    mask: { shape: [S, L, L], data: mask },
    scores: { shape: [S, NH, L, L] },
    probs: { shape: [S, NH, L, L] },
    probsD: { shape: [S, NH, L, L] },
    ctx: { shape: [S * L, C] },
  };
}

const ATTENTION_TOL = { probs: { atol: 1e-6 }, probsD: { atol: 2e-6 }, ctx: { atol: 1e-5 } };

for (
  const [S, L, NH, HS, p] of [[2, 20, 3, 16, 0.1], [2, 20, 3, 16, 0], [1, 123, 2, 64, 0.1], [
    3,
    7,
    2,
    40,
    0.5,
  ]] as const
) {
  gpuTest(
    `fused attention forward equals the GEMMs, softmax and dropout (S ${S}, L ${L}, NH ${NH}, HS ${HS}, p ${p})`,
    async (gpu) => {
      const before = gpu.rt.counter.snapshot().kernels["attention_forward"] ?? 0;
      const drop = p > 0 ? { p, seed: 4242 } : null;
      const tol = drop ? ATTENTION_TOL : { probs: ATTENTION_TOL.probs, ctx: ATTENTION_TOL.ctx };
      await twin(gpu, attentionInputs(S, L, NH, HS), (be, t) => {
        attentionForward(be, {
          ...pick(t, "qkv", "mask", "scores", "probs", "probsD", "ctx"),
          dims: { S, L, NH, HS },
        }, drop);
      }, tol);
      assert.equal(gpu.rt.counter.snapshot().kernels["attention_forward"], before + 1, "one fused dispatch");
    },
  );
}

gpuTest("attention with L > 128 runs the unfused path", async (gpu) => {
  const before = gpu.rt.counter.snapshot().kernels["attention_forward"] ?? 0;
  await twin(gpu, attentionInputs(1, 130, 1, 8), (be, t) => {
    attentionForward(be, {
      ...pick(t, "qkv", "mask", "scores", "probs", "probsD", "ctx"),
      dims: { S: 1, L: 130, NH: 1, HS: 8 },
    }, { p: 0.1, seed: 3 });
  }, ATTENTION_TOL);
  assert.equal(gpu.rt.counter.snapshot().kernels["attention_forward"] ?? 0, before);
});

for (
  const [S, L, NH, HS, p] of [[2, 20, 3, 16, 0.1], [2, 19, 2, 16, 0], [1, 123, 2, 64, 0.1], [
    3,
    7,
    2,
    40,
    0.5,
  ]] as const
) {
  gpuTest(
    `fused attention backward equals the GEMMs and the dropout and softmax backwards (S ${S}, L ${L}, NH ${NH}, HS ${HS}, p ${p})`,
    async (gpu) => {
      const before = gpu.rt.counter.snapshot().kernels["attention_backward"] ?? 0;
      const drop = p > 0 ? { p, seed: 99 } : null;
      const C = NH * HS, dims = { S, L, NH, HS };
      const inputs = {
        ...attentionInputs(S, L, NH, HS),
        dctx: { shape: [S * L, C], data: u(S * L * C) },
        dqkv: { shape: [S * L, 3 * C] },
        s1: { shape: [S, NH, L, L] },
        s2: { shape: [S, NH, L, L] },
      };
      await twin(gpu, inputs, (be, t) => {
        attentionForward(be, { ...pick(t, "qkv", "mask", "scores", "probs", "probsD", "ctx"), dims }, drop);
        attentionBackward(
          be,
          { ...pick(t, "qkv", "probs", "probsD", "dctx", "dqkv", "s1", "s2"), dims },
          drop,
        );
      }, { dqkv: { atol: 2e-5, rtol: 1e-5 } });
      assert.equal(gpu.rt.counter.snapshot().kernels["attention_backward"], before + 1, "one fused dispatch");
    },
  );
}

for (const [rows, n] of [[5, 40], [200, 33], [1, 7]] as const) {
  gpuTest(`fused mul + column sum equals mul then sumRows (${rows}×${n})`, async (gpu) => {
    const op = (be: Backend, t: Record<string, Tensor>) => {
      if (be.fused) return be.fused.mulColumnSum({ a: t.a, b: t.b, out: t.out, dsum: t.dsum });
      be.mul({ a: t.a, b: t.b, out: t.out });
      be.sumRows({ x: t.out, out: t.dsum, accumulate: true });
    };
    const inputs = {
      a: { shape: [rows, n], data: u(rows * n) },
      b: { shape: [rows, n], data: u(rows * n) },
      out: { shape: [rows, n] },
      dsum: { shape: [n], data: u(n) }, // accumulates onto what is there
    };
    await twin(gpu, inputs, op, { out: { atol: 0, rtol: 0 }, dsum: { atol: 1e-5 } });
  });
}

/** The region branches' ReLU + dropout backward with the bias sum, fused or as the unfused calls. */
function reluColumnOp(drop: { p: number; seed: number } | null) {
  return (be: Backend, t: Record<string, Tensor>) => {
    if (be.fused) {
      return be.fused.reluBackwardColumnSum({ y: t.y, dout: t.dout, dx: t.dx, dsum: t.dsum, dropout: drop });
    }
    const tmp = be.alloc(t.dout.shape);
    if (drop) be.dropoutBackward({ dout: t.dout, dx: tmp, ...drop });
    be.reluBackward({ y: t.y, dout: drop ? tmp : t.dout, dx: t.dx });
    be.sumRows({ x: t.dx, out: t.dsum, accumulate: true });
    be.free(tmp);
  };
}

function reluColumnInputs(rows: number, n: number): Record<string, TwinInput> {
  const y = u(rows * n);
  for (let i = 0; i < y.length; i++) y[i] = Math.max(0, y[i]); // a ReLU output: zeros and positives
  return {
    y: { shape: [rows, n], data: y },
    dout: { shape: [rows, n], data: u(rows * n) },
    dx: { shape: [rows, n] },
    dsum: { shape: [n], data: u(n) },
  };
}

for (
  const [rows, n, drop] of [[5, 40, null], [200, 33, { p: 0.1, seed: 42 }], [1, 7, {
    p: 0.5,
    seed: 3,
  }]] as const
) {
  gpuTest(
    `fused ReLU + dropout backward with the column sum equals the unfused calls (${rows}×${n}, dropout ${
      drop ? drop.p : "off"
    })`,
    async (gpu) => {
      // dx within one float32 rounding of the reference's dropout scaling
      await twin(gpu, reluColumnInputs(rows, n), reluColumnOp(drop), {
        dx: { atol: 0, rtol: 2.4e-7 },
        dsum: { atol: 1e-5 },
      });
    },
  );
}

gpuTest("fused ReLU + dropout backward splits rows by the binding limit with the same mask", async () => {
  const small = await openGpu({ maxBindingBytes: 1024 });
  try {
    await twin(small, reluColumnInputs(50, 40), reluColumnOp({ p: 0.2, seed: 17 }), {
      dx: { atol: 0, rtol: 2.4e-7 },
      dsum: { atol: 1e-5 },
    });
    assert.ok(small.rt.counter.snapshot().kernels["relu_backward_column_partial"] > 1, "several parts");
  } finally {
    small.destroy();
  }
});

gpuTest("fused mul + column sum splits rows by the binding limit", async () => {
  const small = await openGpu({ maxBindingBytes: 1024 });
  try {
    const op = (be: Backend, t: Record<string, Tensor>) => {
      if (be.fused) return be.fused.mulColumnSum({ a: t.a, b: t.b, out: t.out, dsum: t.dsum });
      be.mul({ a: t.a, b: t.b, out: t.out });
      be.sumRows({ x: t.out, out: t.dsum, accumulate: true });
    };
    const inputs = {
      a: { shape: [90, 20], data: u(1800) },
      b: { shape: [90, 20], data: u(1800) },
      out: { shape: [90, 20] },
      dsum: { shape: [20], data: u(20) },
    };
    await twin(small, inputs, op, { out: { atol: 0, rtol: 0 }, dsum: { atol: 1e-5 } });
    assert.ok(small.rt.counter.snapshot().kernels["mul_column_partial"] > 1, "split into several dispatches");
  } finally {
    small.destroy();
  }
});

gpuTest("fused attention backward adds the Q/K/V bias gradient (the column sums of dqkv)", async (gpu) => {
  const [S, L, NH, HS] = [3, 21, 2, 16], C = NH * HS, dims = { S, L, NH, HS }, drop = { p: 0.1, seed: 5 };
  const inputs = {
    ...attentionInputs(S, L, NH, HS),
    dctx: { shape: [S * L, C], data: u(S * L * C) },
    dqkv: { shape: [S * L, 3 * C] },
    s1: { shape: [S, NH, L, L] },
    s2: { shape: [S, NH, L, L] },
    dbias: { shape: [3 * C], data: u(3 * C) }, // accumulates onto what is there
  };
  await twin(gpu, inputs, (be, t) => {
    attentionForward(be, { ...pick(t, "qkv", "mask", "scores", "probs", "probsD", "ctx"), dims }, drop);
    const summed = attentionBackward(be, {
      ...pick(t, "qkv", "probs", "probsD", "dctx", "dqkv", "s1", "s2", "dbias"),
      dims,
    }, drop);
    assert.equal(summed, be.fused !== undefined);
    if (!summed) be.sumRows({ x: t.dqkv, out: t.dbias, accumulate: true });
  }, { dqkv: { atol: 2e-5, rtol: 1e-5 }, dbias: { atol: 5e-5, rtol: 1e-5 } });
});

/** The FFN-in Linear and its GELU: x [rows, k], w [n, k], bias [n]. */
function linearGeluInputs(rows: number, k: number, n: number): Record<string, TwinInput> {
  return {
    x: { shape: [rows, k], data: u(rows * k) },
    w: { shape: [n, k], data: u(n * k, -0.5, 0.5) },
    bias: { shape: [n], data: u(n) },
    pre: { shape: [rows, n] },
    out: { shape: [rows, n] },
    grad: { shape: [rows, n] },
  };
}

/** Fused where the backend has it (returning whether it ran fused), else `linear` + `gelu`. */
function linearGeluOp(withGrad: boolean, ran: boolean[] = []) {
  return (be: Backend, t: Record<string, Tensor>) => {
    const g = withGrad ? { grad: t.grad } : {};
    const fused = be.fused?.linearGelu({ x: t.x, w: t.w, bias: t.bias, pre: t.pre, out: t.out, ...g }) ??
      false;
    if (be.fused) ran.push(fused);
    if (fused) return;
    const [n, k] = t.w.shape;
    be.matmul({ a: t.x, b: t.w, c: t.pre, m: t.x.size / k, n, k, transB: true, bias: t.bias });
    be.gelu({ x: t.pre, out: t.out, ...g });
  };
}

for (const [rows, k, n, withGrad] of [[5, 24, 40, true], [130, 20, 141, true], [3, 7, 9, false]] as const) {
  gpuTest(
    `fused linear + GELU equals matmul then gelu (${rows}×${k}·${n}, grad ${withGrad})`,
    async (gpu) => {
      const ran: boolean[] = [];
      const tol = {
        out: { atol: 2e-6, rtol: 2e-6 },
        ...(withGrad ? { grad: { atol: 2e-6, rtol: 2e-6 } } : {}),
      };
      await twin(gpu, linearGeluInputs(rows, k, n), linearGeluOp(withGrad, ran), tol);
      assert.deepEqual(ran, [true]);
    },
  );
}

gpuTest(
  "fused linear + GELU equals the unfused webgpu calls bit for bit (float32 and float16 weights)",
  async (gpu) => {
    const plain = await openGpu({ fuse: false });
    try {
      const [rows, k, n] = [150, 33, 130];
      const inp = linearGeluInputs(rows, k, n);
      for (const half of [false, true]) {
        const run = async (be: typeof gpu) => {
          const t: Record<string, Tensor> = {};
          for (const [name, v] of Object.entries(inp)) {
            t[name] = name === "w" && half ? be.allocF16(v.shape) : be.alloc(v.shape);
            if (v.data) be.write(t[name], v.data);
          }
          linearGeluOp(true)(be, t);
          return [await be.read(t.out), await be.read(t.grad)];
        };
        const [a, b] = [await run(gpu), await run(plain)];
        assert.deepEqual(a[0], b[0], `out (half ${half})`);
        assert.deepEqual(a[1], b[1], `grad (half ${half})`);
      }
    } finally {
      plain.destroy();
    }
  },
);

gpuTest("fused linear + GELU falls back to matmul then gelu where the product would split", async () => {
  const small = await openGpu({ maxBindingBytes: 1024 });
  try {
    const ran: boolean[] = [];
    await twin(small, linearGeluInputs(20, 8, 30), linearGeluOp(true, ran), {
      out: { atol: 2e-6, rtol: 2e-6 },
      grad: { atol: 2e-6, rtol: 2e-6 },
    });
    assert.deepEqual(ran, [false]);
  } finally {
    small.destroy();
  }
});

gpuTest(
  "fused linear + ReLU equals matmul then relu (and the unfused webgpu calls bit for bit)",
  async (gpu) => {
    const op = (ran: boolean[]) => (be: Backend, t: Record<string, Tensor>) => {
      const fused = be.fused?.linearRelu({ x: t.x, w: t.w, bias: t.bias, pre: t.pre, out: t.out }) ?? false;
      if (be.fused) ran.push(fused);
      if (fused) return;
      const [n, k] = t.w.shape;
      be.matmul({ a: t.x, b: t.w, c: t.pre, m: t.x.size / k, n, k, transB: true, bias: t.bias });
      be.relu({ x: t.pre, out: t.out });
    };
    for (const [rows, k, n] of [[5, 24, 40], [130, 20, 141]] as const) {
      const ran: boolean[] = [];
      const inp = linearGeluInputs(rows, k, n);
      const [got] = (await twin(gpu, inp, op(ran), { out: { atol: 1e-6, rtol: 1e-6 } })).out;
      assert.deepEqual(ran, [true]);
      const plain = await openGpu({ fuse: false });
      try {
        const t: Record<string, Tensor> = {};
        for (const [name, v] of Object.entries(inp)) {
          t[name] = plain.alloc(v.shape);
          if (v.data) plain.write(t[name], v.data);
        }
        op([])(plain, t);
        assert.deepEqual(got, await plain.read(t.out));
      } finally {
        plain.destroy();
      }
    }
  },
);

gpuTest("fused scatterRows (a gather's backward, written) equals fill then scatterAddRows", async (gpu) => {
  const [bx, m, p, d] = [3, 7, 5, 33];
  // repeated indices within a batch item, rows no index names
  const index = Int32Array.from({ length: bx * p }, (_, i) => (i * 5) % 3 + (i % 2) * 3);
  const op = (be: Backend, t: Record<string, Tensor>) => {
    if (be.fused) return be.fused.scatterRows({ dout: t.dout, index: t.index, dx: t.dx });
    be.fill(t.dx, 0);
    be.scatterAddRows({ dout: t.dout, index: t.index, dx: t.dx });
  };
  await twin(
    gpu,
    {
      dout: { shape: [bx, p, d], data: u(bx * p * d) },
      index: { shape: [bx, p], data: index, dtype: "int32" },
      dx: { shape: [bx, m, d], data: u(bx * m * d) }, // overwritten
    },
    op,
    { dx: { atol: 0, rtol: 0 } },
  );
  // an index outside [0, M) is reported, naming the kernel
  const t = { dout: gpu.alloc([1, 2, 4]), index: gpu.alloc([1, 2], "int32"), dx: gpu.alloc([1, 3, 4]) };
  gpu.write(t.index, [0, 3]);
  gpu.fused!.scatterRows(t);
  await assert.rejects(gpu.sync(), /kernel scatter_rows: row index 3 at flat position 1 is outside \[0, 3\)/);
  for (const x of Object.values(t)) gpu.free(x);
});
