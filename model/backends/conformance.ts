/**
 * Backend conformance: every operation of {@linkcode Backend} run on a backend under test and on the float64
 * reference backend with the same seeded inputs (awkward sizes, views at odd offsets, accumulate flags),
 * outputs compared. A new backend (WebGPU) passes when every check passes; `backends_test.ts` runs it for the
 * float32 reference and the OpenBLAS backends.
 *
 * @example Usage
 * ```ts
 * import { backendConformance, ReferenceBackend } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const results = await backendConformance(new ReferenceBackend());
 * assert.ok(results.every((r) => r.pass));
 * ```
 *
 * @module
 */
import type { Backend, DType, Tensor } from "../backend.ts";
import { Rng } from "../rng.ts";
import { ReferenceBackend } from "./reference.ts";

/** One operation's comparison. */
export interface ConformanceResult {
  /** operation(s) checked */
  op: string;
  /** largest |actual − expected| over the op's outputs */
  maxAbs: number;
  /** every element within atol + rtol·|expected| */
  pass: boolean;
}

/** Host inputs of one case: name → [shape, values, dtype]. */
type Inputs = Record<string, [number[], ArrayLike<number>, DType?]>;

/** One op case: build inputs, run the op given uploaded tensors, name the outputs to compare. */
interface Case {
  /** operation(s) checked */
  op: string;
  inputs: (rng: Rng) => Inputs;
  /** outputs allocated (zero-filled, or with the given initial values) */
  outputs: Record<string, number[] | [number[], "init"]>;
  run: (be: Backend, t: Record<string, Tensor>) => void;
  atol?: number;
  rtol?: number;
}

const normal = (rng: Rng, n: number, std = 1) => rng.fillNormal(new Float64Array(n), 0, std);
const ints = (rng: Rng, n: number, hi: number) => Int32Array.from({ length: n }, () => rng.int(hi));

/** The cases: sizes deliberately odd (7, 13, 33) to catch bounds and stride bugs. */
function cases(): Case[] {
  const S = 2, NH = 3, L = 7, HS = 5, C = NH * HS, M = 13, K = 33, N = 9, V = 29, R = 2;
  return [
    {
      op: "matmul (batched, strided, bias)",
      inputs: (r) => ({
        a: [[2 * 3 * 60 + 70], normal(r, 2 * 3 * 60 + 70)],
        b: [[3 * 80 + 90], normal(r, 3 * 80 + 90)],
        bias: [[N], normal(r, N)],
      }),
      outputs: { c: [2 * 3 * 50 + 60] },
      run: (be, t) =>
        be.matmul({
          a: be.view(t.a, 3, [t.a.size - 3]),
          b: t.b,
          c: be.view(t.c, 1, [t.c.size - 1]),
          m: 5,
          n: N,
          k: 4,
          transB: true,
          lda: 9,
          ldb: 11,
          ldc: 10,
          alpha: 0.5,
          bias: t.bias,
          batch: [2, 3],
          strideA: [180, 60],
          strideB: [0, 80],
          strideC: [150, 50],
        }),
    },
    {
      op: "matmul (transA, beta 1)",
      inputs: (r) => ({ a: [[K, M], normal(r, K * M)], b: [[K, N], normal(r, K * N)] }),
      outputs: { c: [[M, N], "init"] },
      run: (be, t) => be.matmul({ a: t.a, b: t.b, c: t.c, m: M, n: N, k: K, transA: true, beta: 1 }),
    },
    {
      op: "matmul (NN, 3-d batch with broadcast)",
      inputs: (r) => ({
        a: [[2 * 2 * 3 * M * K], normal(r, 12 * M * K)],
        b: [[2 * K * N], normal(r, 2 * K * N)],
      }),
      outputs: { c: [2 * 2 * 3 * M * N] },
      run: (be, t) =>
        be.matmul({
          a: t.a,
          b: t.b,
          c: t.c,
          m: M,
          n: N,
          k: K,
          batch: [2, 2, 3],
          strideA: [6 * M * K, 3 * M * K, M * K],
          strideB: [K * N, 0, 0],
          strideC: [6 * M * N, 3 * M * N, M * N],
        }),
    },
    {
      op: "sumRows (accumulate)",
      inputs: (r) => ({ x: [[M, N], normal(r, M * N)] }),
      outputs: { out: [[N], "init"] },
      run: (be, t) => be.sumRows({ x: t.x, out: t.out, accumulate: true }),
    },
    {
      op: "copyStrided",
      inputs: (r) => ({ src: [[3 * 4 * 10], normal(r, 120)] }),
      outputs: { dst: [[3 * 5 * 8], "init"] },
      run: (be, t) =>
        be.copyStrided({
          src: be.view(t.src, 2, [118]),
          dst: be.view(t.dst, 8, [112]),
          shape: [3, 4, 6],
          srcStride: [40, 10],
          dstStride: [40, 8],
        }),
    },
    {
      op: "add, mul, axpy, fill, copy",
      inputs: (r) => ({ a: [[K], normal(r, K)], b: [[K], normal(r, K)] }),
      outputs: { s: [K], p: [K], y: [[K], "init"], f: [K], c: [K] },
      run: (be, t) => {
        be.add({ a: t.a, b: t.b, out: t.s });
        be.mul({ a: t.a, b: t.b, out: t.p });
        be.axpy({ x: t.a, y: t.y, alpha: -0.75 });
        be.fill(t.f, 2.5);
        be.copy(t.b, t.c);
      },
    },
    {
      op: "layernorm + backward (accumulate)",
      inputs: (r) => ({
        x: [[M, C], normal(r, M * C, 2)],
        w: [[C], normal(r, C)],
        b: [[C], normal(r, C)],
        dy: [[M, C], normal(r, M * C)],
      }),
      outputs: {
        y: [M, C],
        mean: [M],
        rstd: [M],
        dx: [[M, C], "init"],
        dw: [[C], "init"],
        db: [[C], "init"],
      },
      run: (be, t) => {
        be.layernorm({ x: t.x, weight: t.w, bias: t.b, out: t.y, mean: t.mean, rstd: t.rstd, eps: 1e-5 });
        be.layernormBackward({
          dout: t.dy,
          x: t.x,
          mean: t.mean,
          rstd: t.rstd,
          weight: t.w,
          dx: t.dx,
          dweight: t.dw,
          dbias: t.db,
          accumulate: true,
        });
      },
    },
    {
      op: "gelu (with grad) + backward, relu + backward, tanh",
      inputs: (r) => ({ x: [[K * 3], normal(r, K * 3, 3)], dy: [[K * 3], normal(r, K * 3)] }),
      outputs: { y: [K * 3], g: [K * 3], y2: [K * 3], dx: [K * 3], r: [K * 3], dr: [K * 3], th: [K * 3] },
      run: (be, t) => {
        be.gelu({ x: t.x, out: t.y, grad: t.g });
        be.gelu({ x: t.x, out: t.y2 });
        be.geluBackward({ x: t.x, dout: t.dy, dx: t.dx });
        be.relu({ x: t.x, out: t.r });
        be.reluBackward({ y: t.r, dout: t.dy, dx: t.dr });
        be.tanh({ x: t.x, out: t.th });
      },
      atol: 3e-6,
    },
    {
      op: "softmax + backward",
      inputs: (r) => ({
        x: [[S, NH, L, L], normal(r, S * NH * L * L, 2)],
        mask: [[S, L, L], Float64Array.from({ length: S * L * L }, () => (r.float() < 0.3 ? -10000 : 0))],
        dp: [[S, NH, L, L], normal(r, S * NH * L * L)],
      }),
      outputs: { p: [S, NH, L, L], dx: [S, NH, L, L] },
      run: (be, t) => {
        be.softmax({ x: t.x, mask: t.mask, out: t.p });
        be.softmaxBackward({ p: t.p, dp: t.dp, dx: t.dx });
      },
    },
    {
      op: "dropout + backward",
      inputs: (r) => ({ x: [[1000], normal(r, 1000)] }),
      outputs: { y: [1000], dx: [1000] },
      run: (be, t) => {
        be.dropout({ x: t.x, out: t.y, p: 0.3, seed: 12345 });
        be.dropoutBackward({ dout: t.x, dx: t.dx, p: 0.3, seed: 12345 });
      },
    },
    {
      op: "embedding + backward (regions, explicit positions)",
      inputs: (r) => ({
        ids: [[S, L], ints(r, S * L, V), "int32"],
        seg: [[S, L], ints(r, S * L, 6), "int32"],
        pos: [[S, L], ints(r, S * L, 11), "int32"],
        wte: [[V, C], normal(r, V * C)],
        wpe: [[11, C], normal(r, 11 * C)],
        wtt: [[6, C], normal(r, 6 * C)],
        vis: [[S, R, C], normal(r, S * R * C)],
        pe: [[S, R, C], normal(r, S * R * C)],
        dy: [[S, L, C], normal(r, S * L * C)],
      }),
      outputs: {
        out: [S, L, C],
        dwte: [[V, C], "init"],
        dwpe: [[11, C], "init"],
        dwtt: [[6, C], "init"],
        dvis: [S, R, C],
        dpe: [S, R, C],
      },
      run: (be, t) => {
        const common = { ids: t.ids, segmentIds: t.seg, posOffset: 0, positionIds: t.pos };
        be.embedding({
          ...common,
          wte: t.wte,
          wpe: t.wpe,
          wtt: t.wtt,
          regions: t.vis,
          regionPos: t.pe,
          out: t.out,
        });
        be.embeddingBackward({
          ...common,
          dout: t.dy,
          dwte: t.dwte,
          dwpe: t.dwpe,
          dwtt: t.dwtt,
          dregions: t.dvis,
          dregionPos: t.dpe,
        });
      },
    },
    {
      op: "gatherRows + scatterAddRows",
      inputs: (r) => ({ x: [[S, L, C], normal(r, S * L * C)], idx: [[S, 3], ints(r, S * 3, L), "int32"] }),
      outputs: { g: [S, 3, C], dx: [[S, L, C], "init"] },
      run: (be, t) => {
        be.gatherRows({ x: t.x, index: t.idx, out: t.g });
        be.scatterAddRows({ dout: t.g, index: t.idx, dx: t.dx });
      },
    },
    {
      op: "topkRows (indices checked through gatherRows)",
      inputs: (r) => ({ x: [[6, V], normal(r, 6 * V)], idx: [[6, 5], new Int32Array(30), "int32"] }),
      outputs: { vals: [6, 5], picked: [6, 5] },
      run: (be, t) => {
        be.topkRows({ x: t.x, values: t.vals, indices: t.idx });
        be.gatherRows({ x: be.view(t.x, 0, [6, V, 1]), index: t.idx, out: be.view(t.picked, 0, [6, 5, 1]) });
      },
    },
    {
      op: "crossEntropy (+ smoothing) + backward, maskedLossReduce",
      inputs: (r) => ({
        logits: [[6, V], normal(r, 6 * V, 3)],
        targets: [[6], Int32Array.of(3, 0, 7, 28, 1, 5), "int32"],
        w: [[3, 2], Float64Array.of(1, 1, 0, 1, 1, 0)],
      }),
      outputs: { ce: [6], ces: [6], out: [1], coef: [3, 2], dl: [6, V], dls: [6, V] },
      run: (be, t) => {
        be.crossEntropy({ logits: t.logits, targets: t.targets, losses: t.ce });
        be.crossEntropy({ logits: t.logits, targets: t.targets, losses: t.ces, smoothing: 0.1 });
        be.maskedLossReduce({
          losses: be.view(t.ce, 0, [3, 2]),
          weights: t.w,
          out: t.out,
          coef: t.coef,
          dropWorstRatio: 0.34,
          scale: 2,
        });
        be.crossEntropyBackward({
          logits: t.logits,
          targets: t.targets,
          dlosses: be.view(t.coef, 0, [6]),
          dlogits: t.dl,
        });
        be.crossEntropyBackward({
          logits: t.logits,
          targets: t.targets,
          dlosses: be.view(t.coef, 0, [6]),
          dlogits: t.dls,
          smoothing: 0.1,
        });
      },
    },
    {
      op: "bceWithLogits + backward",
      inputs: (r) => ({ x: [[3, 11], normal(r, 33, 3)], y: [[3, 11], r.fillUniform(new Float64Array(33))] }),
      outputs: { out: [1], dx: [3, 11] },
      run: (be, t) => {
        be.bceWithLogits({ logits: t.x, targets: t.y, out: t.out });
        be.bceWithLogitsBackward({ logits: t.x, targets: t.y, dlogits: t.dx, scale: 3 });
      },
    },
  ];
}

async function runCase(be: Backend, c: Case, seed: number): Promise<Map<string, Float64Array>> {
  const rng = new Rng(seed);
  const t: Record<string, Tensor> = {};
  for (const [name, [shape, values, dtype]] of Object.entries(c.inputs(rng))) {
    t[name] = be.alloc(shape, dtype ?? "float");
    be.write(t[name], values);
  }
  const init = new Rng(seed + 1);
  for (const [name, spec] of Object.entries(c.outputs)) {
    const isInit = spec.length === 2 && spec[1] === "init";
    const shape = (isInit ? spec[0] : spec) as number[];
    t[name] = be.alloc(shape);
    if (isInit) be.write(t[name], init.fillNormal(new Float64Array(t[name].size)));
  }
  c.run(be, t);
  const out = new Map<string, Float64Array>();
  for (const name of Object.keys(c.outputs)) out.set(name, Float64Array.from(await be.read(t[name])));
  return out;
}

/**
 * Run every operation on `be` and on the float64 reference backend and compare (tolerance per op, default
 * 1e-5 absolute + 1e-5 relative, which float32 arithmetic meets at these sizes).
 */
export async function backendConformance(be: Backend, seed = 1): Promise<ConformanceResult[]> {
  const ref = new ReferenceBackend({ precision: "float64" });
  const results: ConformanceResult[] = [];
  for (const c of cases()) {
    const [a, e] = [await runCase(be, c, seed), await runCase(ref, c, seed)];
    const atol = c.atol ?? 1e-5, rtol = c.rtol ?? 1e-5;
    let maxAbs = 0, pass = true;
    for (const [name, ev] of e) {
      const av = a.get(name)!;
      for (let i = 0; i < ev.length; i++) {
        const d = Math.abs(av[i] - ev[i]), dd = Number.isNaN(d) ? Infinity : d;
        if (dd > maxAbs) maxAbs = dd;
        if (!(dd <= atol + rtol * Math.abs(ev[i]))) pass = false;
      }
    }
    results.push({ op: c.op, maxAbs, pass });
  }
  return results;
}
