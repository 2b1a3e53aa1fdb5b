import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { additiveMask } from "../../kernels/softmax.ts";
import type { Backend, Tensor } from "../../backend.ts";
import type { WebGpuBackend } from "./backend.ts";
import { gpuTest, openGpu, twin, type TwinTolerance } from "./test_utils.ts";

const [B, L, C] = [2, 7, 33];

function normal(rng: Rng, n: number, mean = 0, std = 1): Float32Array {
  return rng.fillNormal(new Float32Array(n), mean, std);
}

function ints(n: number, f: (i: number) => number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => f(i));
}

/** Layer-op cases shared by the default backend and the one with tiny binding limits. */
async function layerCases(gpu: WebGpuBackend, rng: Rng, label: string): Promise<void> {
  const rows = B * L;
  const ln = {
    x: { shape: [B, L, C], data: normal(rng, rows * C, 0.5, 2) },
    weight: { shape: [C], data: normal(rng, C, 1, 0.3) },
    bias: { shape: [C], data: normal(rng, C) },
    out: { shape: [B, L, C] },
    mean: { shape: [rows] },
    rstd: { shape: [rows] },
    dout: { shape: [B, L, C], data: normal(rng, rows * C) },
    dx: { shape: [B, L, C], data: normal(rng, rows * C) },
    dweight: { shape: [C], data: normal(rng, C) },
    dbias: { shape: [C], data: normal(rng, C) },
  };
  await twin(gpu, ln, (be, t) => {
    be.layernorm({
      x: t.x,
      weight: t.weight,
      bias: t.bias,
      out: t.out,
      mean: t.mean,
      rstd: t.rstd,
      eps: 1e-5,
    });
    for (const accumulate of [false, true]) {
      be.layernormBackward({
        dout: t.dout,
        x: t.x,
        mean: t.mean,
        rstd: t.rstd,
        weight: t.weight,
        dx: t.dx,
        dweight: t.dweight,
        dbias: t.dbias,
        accumulate,
      });
    }
  }, {
    out: { atol: 1e-5, rtol: 1e-5 },
    mean: { atol: 1e-6, rtol: 1e-6 },
    rstd: { atol: 1e-6, rtol: 1e-5 },
    dx: { atol: 2e-5, rtol: 1e-4 },
    dweight: { atol: 5e-5, rtol: 1e-5 },
    dbias: { atol: 5e-5, rtol: 1e-5 },
  }, `${label} layernorm`);

  // attention softmax with VLP's 0/1 → −10000 mask (seq2seq-like: causal on the text part)
  const NH = 3;
  const m01 = Array.from({ length: B * L * L }, (_, i) => ((i % L) <= Math.floor(i / L) % L + 2 ? 1 : 0));
  const sm = {
    x: { shape: [B, NH, L, L], data: normal(rng, B * NH * L * L, 0, 3) },
    mask: { shape: [B, L, L], data: additiveMask(m01, new Float32Array(m01.length)) },
    out: { shape: [B, NH, L, L] },
    dp: { shape: [B, NH, L, L], data: normal(rng, B * NH * L * L) },
    dx: { shape: [B, NH, L, L] },
  };
  await twin(
    gpu,
    sm,
    (be, t) => {
      be.softmax({ x: t.x, mask: t.mask, out: t.out });
      be.softmaxBackward({ p: t.out, dp: t.dp, dx: t.dx });
    },
    { out: { atol: 1e-6, rtol: 1e-5 }, dx: { atol: 1e-6, rtol: 1e-5 } },
    `${label} softmax`,
  );

  // column sums (bias gradients), few rows and many rows
  for (const r of [5, 300]) {
    await twin(
      gpu,
      { x: { shape: [r, C], data: normal(rng, r * C) }, out: { shape: [C], data: normal(rng, C) } },
      (be, t) => {
        be.sumRows({ x: t.x, out: t.out, accumulate: true });
      },
      { out: { atol: 1e-5 * Math.sqrt(r), rtol: 1e-5 } },
      `${label} sumRows ${r}`,
    );
  }
}

gpuTest("webgpu layernorm, softmax and sumRows (forward and backward) match the reference", async (gpu) => {
  await layerCases(gpu, new Rng(20), "default");
});

gpuTest("webgpu layer ops split by a tiny binding limit and grid give the same results", async (_gpu) => {
  const small = await openGpu({ maxBindingBytes: 1024, maxWorkgroupsPerDim: 5 });
  try {
    const before = small.rt.dispatchCount;
    await layerCases(small, new Rng(20), "split");
    assert.ok(small.rt.dispatchCount - before > 30);
  } finally {
    small.destroy();
  }
});

gpuTest("webgpu softmax over more than 65,535 rows (a 2-d grid of workgroups)", async (gpu) => {
  const rng = new Rng(21);
  const [S, NH, LQ, LK] = [70000, 1, 1, 3];
  await twin(
    gpu,
    {
      x: { shape: [S, NH, LQ, LK], data: normal(rng, S * LK) },
      mask: { shape: [S, LQ, LK], data: normal(rng, S * LK) },
      out: { shape: [S, NH, LQ, LK] },
    },
    (be, t) => be.softmax({ x: t.x, mask: t.mask, out: t.out }),
    { out: { atol: 1e-6, rtol: 1e-5 } },
  );
});

/** The embedding case: B = 2 (or b) sequences of L = 9 slots, R = 3 region slots, V = 11, 6 segment types. */
function embeddingInputs(rng: Rng, withRegions: boolean, b = 2) {
  const [l, c, r, v, pmax, types] = [9, 33, 3, 11, 16, 6];
  // repeated ids and segments: several slots add into the same table rows
  return {
    sizes: { b, l, c, r: withRegions ? r : 0 },
    inputs: {
      ids: { shape: [b, l], data: ints(b * l, (i) => (i * 7) % 5), dtype: "int32" as const },
      seg: { shape: [b, l], data: ints(b * l, (i) => (i % l < 5 ? 4 : 5)), dtype: "int32" as const },
      // explicit positions, repeated across the batch and within a sequence
      pos: { shape: [b, l], data: ints(b * l, (i) => (i % l) % 6 + 1), dtype: "int32" as const },
      wte: { shape: [v, c], data: normal(rng, v * c) },
      wpe: { shape: [pmax, c], data: normal(rng, pmax * c) },
      wtt: { shape: [types, c], data: normal(rng, types * c) },
      regions: { shape: [b, r, c], data: normal(rng, b * r * c) },
      regionPos: { shape: [b, r, c], data: normal(rng, b * r * c) },
      out: { shape: [b, l, c] },
      dout: { shape: [b, l, c], data: normal(rng, b * l * c) },
      dwte: { shape: [v, c], data: normal(rng, v * c) },
      dwpe: { shape: [pmax, c], data: normal(rng, pmax * c) },
      dwtt: { shape: [types, c], data: normal(rng, types * c) },
      dregions: { shape: [b, r, c] },
      dregionPos: { shape: [b, r, c] },
    },
  };
}

gpuTest(
  "webgpu embedding forward and backward (with and without region slots) match the reference",
  async (gpu) => {
    const rng = new Rng(22);
    for (const [withRegions, withPositions] of [[true, false], [false, false], [true, true], [false, true]]) {
      const { inputs } = embeddingInputs(rng, withRegions);
      await twin(gpu, inputs, (be, t) => {
        be.embedding({
          ids: t.ids,
          segmentIds: t.seg,
          wte: t.wte,
          wpe: t.wpe,
          wtt: t.wtt,
          posOffset: 2,
          positionIds: withPositions ? t.pos : undefined,
          regions: withRegions ? t.regions : undefined,
          regionPos: withRegions ? t.regionPos : undefined,
          out: t.out,
        });
        be.embeddingBackward({
          ids: t.ids,
          segmentIds: t.seg,
          posOffset: 2,
          positionIds: withPositions ? t.pos : undefined,
          dout: t.dout,
          dwte: t.dwte,
          dwpe: t.dwpe,
          dwtt: t.dwtt,
          dregions: withRegions ? t.dregions : undefined,
          dregionPos: withRegions ? t.dregionPos : undefined,
        });
      }, {
        // the reference adds the three rows in float64 and rounds once; here each addition rounds
        out: { atol: 1e-6, rtol: 1e-6 },
        // the reference sums a table row's gradients in float64 and adds them once; the grouped scatter-add
        // rounds after each add: within float32 rounding of the few adds per row
        dwte: { atol: 1e-6, rtol: 1e-6 },
        dwpe: { atol: 1e-6, rtol: 1e-6 },
        dwtt: { atol: 1e-6, rtol: 1e-6 },
        dregions: { atol: 0, rtol: 0 },
        dregionPos: { atol: 0, rtol: 0 },
      }, `embedding regions=${withRegions} positions=${withPositions}`);
    }
  },
);

gpuTest("webgpu gatherRows and scatterAddRows (repeated indices) match the reference", async (gpu) => {
  const rng = new Rng(23);
  const [bx, m, p, d] = [3, 7, 4, 33];
  await twin(
    gpu,
    {
      x: { shape: [bx, m, d], data: normal(rng, bx * m * d) },
      index: { shape: [bx, p], data: ints(bx * p, (i) => (i * 5) % 3 + (i % 2) * 3), dtype: "int32" },
      out: { shape: [bx, p, d] },
      dx: { shape: [bx, m, d], data: normal(rng, bx * m * d) },
    },
    (be, t) => {
      be.gatherRows({ x: t.x, index: t.index, out: t.out });
      be.scatterAddRows({ dout: t.out, index: t.index, dx: t.dx });
    },
    { out: { atol: 0, rtol: 0 }, dx: { atol: 0, rtol: 0 } },
    "gather/scatter",
  );
});

gpuTest(
  "webgpu reports out-of-range ids as a RangeError naming the kernel, then keeps working",
  async (gpu) => {
    const rng = new Rng(24);
    const { inputs } = embeddingInputs(rng, false);
    const t: Record<string, ReturnType<typeof gpu.alloc>> = {};
    for (const [name, inp] of Object.entries(inputs)) {
      t[name] = gpu.alloc(inp.shape, "dtype" in inp ? inp.dtype : "float");
      if ("data" in inp && inp.data) gpu.write(t[name], inp.data);
    }
    const ids = Int32Array.from(inputs.ids.data);
    ids[5] = 11; // V = 11
    gpu.write(t.ids, ids);
    const embed = () =>
      gpu.embedding({
        ids: t.ids,
        segmentIds: t.seg,
        wte: t.wte,
        wpe: t.wpe,
        wtt: t.wtt,
        posOffset: 0,
        out: t.out,
      });
    embed();
    await assert.rejects(gpu.read(t.out), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /kernel embedding: .*11 at flat position 5 is outside \[0, 11\)/);
      return true;
    });
    // a bad gather index
    const idx = gpu.alloc([1, 2], "int32");
    gpu.write(idx, [0, -1]);
    gpu.gatherRows({ x: gpu.view(t.wte, 0, [1, 11, 33]), index: idx, out: gpu.alloc([1, 2, 33]) });
    await assert.rejects(gpu.sync(), /kernel gather_rows: row index -1 at flat position 1/);
    // the status word was cleared: the next call succeeds
    gpu.write(t.ids, inputs.ids.data);
    embed();
    await gpu.read(t.out);
    for (const x of Object.values(t)) gpu.free(x);
  },
);

/** The embedding layer's forward, fused where the backend has it, else embedding, layernorm, dropout. */
function embeddingLayerOp(
  withRegions: boolean,
  withPositions: boolean,
  drop: { p: number; seed: number } | null,
) {
  return (be: Backend, t: Record<string, Tensor>) => {
    const emb = {
      ids: t.ids,
      segmentIds: t.seg,
      wte: t.wte,
      wpe: t.wpe,
      wtt: t.wtt,
      posOffset: 2,
      ...(withPositions ? { positionIds: t.pos } : {}),
      ...(withRegions ? { regions: t.regions, regionPos: t.regionPos } : {}),
      out: t.out,
    };
    const ln = { weight: t.lnW, bias: t.lnB, mean: t.mean, rstd: t.rstd, eps: 1e-12 };
    if (be.fused) return be.fused.embeddingLayernorm({ emb, ...ln, ln: t.ln, out: t.h, dropout: drop });
    be.embedding(emb);
    be.layernorm({ x: be.view(t.out, 0, [t.out.size / t.lnW.size, t.lnW.size]), ...ln, out: t.ln });
    if (drop) be.dropout({ x: t.ln, out: t.h, ...drop });
  };
}

function embeddingLayerInputs(rng: Rng, withRegions: boolean, b = 2) {
  const { inputs, sizes } = embeddingInputs(rng, withRegions, b);
  const rows = sizes.b * sizes.l, c = sizes.c;
  return {
    ...inputs,
    lnW: { shape: [c], data: normal(rng, c) },
    lnB: { shape: [c], data: normal(rng, c) },
    ln: { shape: [rows, c] },
    h: { shape: [rows, c] },
    mean: { shape: [rows] },
    rstd: { shape: [rows] },
  };
}

gpuTest("fused embedding + LayerNorm + dropout equals embedding, layernorm and dropout", async (gpu) => {
  const rng = new Rng(25);
  const tol = {
    out: { atol: 1e-6, rtol: 1e-6 },
    ln: { atol: 2e-5, rtol: 1e-5 },
    h: { atol: 3e-5, rtol: 1e-5 },
    mean: { atol: 1e-6 },
    rstd: { atol: 2e-5, rtol: 1e-5 },
  };
  for (const [withRegions, withPositions] of [[true, false], [false, true], [true, true]]) {
    for (const drop of [null, { p: 0.1, seed: 77 }]) {
      const label = `regions=${withRegions} positions=${withPositions} dropout=${drop?.p ?? "off"}`;
      const inputs = embeddingLayerInputs(rng, withRegions);
      const { h: _h, ...noDrop } = tol;
      await twin(gpu, inputs, embeddingLayerOp(withRegions, withPositions, drop), drop ? tol : noDrop, label);
    }
  }
  // rows split by the binding limit (72 rows of 33 floats, 29 rows a part): the same masks and region slots
  const small = await openGpu({ maxBindingBytes: 4096 });
  try {
    const inputs = embeddingLayerInputs(rng, true, 8);
    await twin(small, inputs, embeddingLayerOp(true, false, { p: 0.2, seed: 5 }), tol);
    assert.ok(small.rt.counter.snapshot().kernels["embedding_layernorm"] > 1, "several parts");
  } finally {
    small.destroy();
  }
});

gpuTest("fused embedding + LayerNorm reports an out-of-range token id naming its kernel", async (gpu) => {
  const rng = new Rng(26);
  const inputs = embeddingLayerInputs(rng, false);
  const t: Record<string, Tensor> = {};
  for (const [name, inp] of Object.entries(inputs)) {
    t[name] = gpu.alloc(inp.shape, "dtype" in inp ? inp.dtype : "float");
    if ("data" in inp && inp.data) gpu.write(t[name], inp.data);
  }
  const ids = Int32Array.from(inputs.ids.data);
  ids[4] = 11; // V = 11
  gpu.write(t.ids, ids);
  embeddingLayerOp(false, false, null)(gpu, t);
  await assert.rejects(
    gpu.read(t.ln),
    /kernel embedding_layernorm: .*11 at flat position 4 is outside \[0, 11\)/,
  );
  for (const x of Object.values(t)) gpu.free(x);
});

/** The embedding layer's backward from dh, fused where the backend has it, else its three calls. */
function embeddingLayerBackwardOp(
  withRegions: boolean,
  withPositions: boolean,
  drop: { p: number; seed: number } | null,
) {
  return (be: Backend, t: Record<string, Tensor>) => {
    const tables = {
      ids: t.ids,
      segmentIds: t.seg,
      posOffset: 2,
      ...(withPositions ? { positionIds: t.pos } : {}),
      dwte: t.dwte,
      dwpe: t.dwpe,
      dwtt: t.dwtt,
      ...(withRegions ? { dregions: t.dregions, dregionPos: t.dregionPos } : {}),
    };
    const ln = { x: t.out, mean: t.mean, rstd: t.rstd, weight: t.lnW };
    if (be.fused) {
      return be.fused.embeddingLayernormBackward({
        dout: t.dh,
        emb: ln.x,
        mean: ln.mean,
        rstd: ln.rstd,
        weight: ln.weight,
        demb: t.demb,
        dweight: t.dlnW,
        dbias: t.dlnB,
        dropout: drop,
        tables,
      });
    }
    const g = be.alloc(t.dh.shape);
    if (drop) be.dropoutBackward({ dout: t.dh, dx: g, ...drop });
    const c = t.lnW.size, rows = t.dh.size / c;
    be.layernormBackward({
      dout: drop ? g : t.dh,
      ...ln,
      x: be.view(t.out, 0, [rows, c]),
      dx: t.demb,
      dweight: t.dlnW,
      dbias: t.dlnB,
    });
    be.embeddingBackward({ ...tables, dout: be.view(t.demb, 0, t.out.shape) });
    be.free(g);
  };
}

gpuTest(
  "fused embedding-layer backward equals dropoutBackward, layernormBackward, embeddingBackward",
  async (gpu) => {
    const rng = new Rng(27);
    const tol = {
      demb: { atol: 3e-5, rtol: 1e-5 },
      dlnW: { atol: 1e-4, rtol: 1e-5 },
      dlnB: { atol: 1e-4, rtol: 1e-5 },
      dwte: { atol: 1e-4, rtol: 1e-5 },
      dwpe: { atol: 1e-4, rtol: 1e-5 },
      dwtt: { atol: 1e-4, rtol: 1e-5 },
    };
    const cases = [[true, false, null], [false, true, { p: 0.1, seed: 8 }], [true, true, {
      p: 0.3,
      seed: 9,
    }]] as const;
    for (const [withRegions, withPositions, drop] of cases) {
      const inputs = embeddingLayerInputs(rng, withRegions, 8);
      const rows = inputs.ln.shape[0], c = inputs.ln.shape[1];
      const all = {
        ...inputs,
        dh: { shape: [rows, c], data: normal(rng, rows * c) },
        demb: { shape: [rows, c] },
        dlnW: { shape: [c], data: normal(rng, c) },
        dlnB: { shape: [c], data: normal(rng, c) },
      };
      const regionTol: TwinTolerance = withRegions ? { dregions: tol.demb, dregionPos: tol.demb } : {};
      const label = `regions=${withRegions} positions=${withPositions} dropout=${drop?.p ?? "off"}`;
      await twin(
        gpu,
        all,
        (be, t) => {
          embeddingLayerOp(withRegions, withPositions, drop)(be, t);
          embeddingLayerBackwardOp(withRegions, withPositions, drop)(be, t);
        },
        { ...tol, ...regionTol },
        label,
      );
    }
    // with the parameter sums held back (as a training step runs it); rows are not split here: the
    // tables' scatter needs [B·L, C] in one binding, as embeddingBackward does
    const inputs = embeddingLayerInputs(rng, true, 8);
    const rows = inputs.ln.shape[0], c = inputs.ln.shape[1];
    const all = {
      ...inputs,
      dh: { shape: [rows, c], data: normal(rng, rows * c) },
      demb: { shape: [rows, c] },
      dlnW: { shape: [c], data: normal(rng, c) },
      dlnB: { shape: [c], data: normal(rng, c) },
    };
    await twin(
      gpu,
      all,
      (be, t) => {
        embeddingLayerOp(true, false, { p: 0.2, seed: 5 })(be, t);
        be.fused?.holdGradientSums();
        embeddingLayerBackwardOp(true, false, { p: 0.2, seed: 5 })(be, t);
        be.fused?.finishGradientSums();
      },
      { ...tol, dregions: tol.demb, dregionPos: tol.demb },
      "held",
    );
  },
);

gpuTest(
  "the three table scatter-adds in one dispatch (tables in one buffer) equal three dispatches",
  async (gpu) => {
    const rng = new Rng(28);
    for (const withRegions of [true, false]) {
      const { inputs } = embeddingInputs(rng, withRegions, 4);
      const run = async (flat: boolean) => {
        const t: Record<string, Tensor> = {};
        for (const [name, inp] of Object.entries(inputs)) {
          if (["dwte", "dwpe", "dwtt"].includes(name)) continue;
          t[name] = gpu.alloc(inp.shape, "dtype" in inp ? inp.dtype : "float");
          if ("data" in inp && inp.data) gpu.write(t[name], inp.data);
        }
        // the table gradients: views of one flat tensor (row-aligned, as a model's), or three tensors
        const sizes = [inputs.dwte, inputs.dwpe, inputs.dwtt].map((x) => x.data.length);
        const table = gpu.alloc([sizes[0] + sizes[1] + sizes[2]]);
        ["dwte", "dwpe", "dwtt"].forEach((name, i) => {
          const at = sizes.slice(0, i).reduce((a, b) => a + b, 0);
          t[name] = flat
            ? gpu.view(table, at, inputs[name as "dwte"].shape)
            : gpu.alloc(inputs[name as "dwte"].shape);
          gpu.write(t[name], inputs[name as "dwte"].data);
        });
        const before = gpu.rt.counter.snapshot().kernels;
        gpu.embeddingBackward({
          ids: t.ids,
          segmentIds: t.seg,
          posOffset: 2,
          dout: t.dout,
          dwte: t.dwte,
          dwpe: t.dwpe,
          dwtt: t.dwtt,
          ...(withRegions ? { dregions: t.dregions, dregionPos: t.dregionPos } : {}),
        });
        const after = gpu.rt.counter.snapshot().kernels;
        const k = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
        const out = await Promise.all(["dwte", "dwpe", "dwtt"].map((n) => gpu.read(t[n])));
        for (const [name, x] of Object.entries(t)) {
          if (!flat || !["dwte", "dwpe", "dwtt"].includes(name)) {
            gpu.free(x);
          }
        }
        gpu.free(table);
        return { out, tables: k("scatter_add_tables"), grouped: k("scatter_add_grouped") };
      };
      const one = await run(true), three = await run(false);
      assert.deepEqual([one.tables, one.grouped, three.tables, three.grouped], [1, 0, 0, 3]);
      one.out.forEach((x, i) => assert.deepEqual(x, three.out[i], `table ${i}, regions ${withRegions}`));
    }
  },
);
