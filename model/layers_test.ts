import { checkVjp, Rng } from "@vlp/testing";
import type { Tensor } from "./backend.ts";
import { cpuData } from "./backends/cpu.ts";
import { ReferenceBackend } from "./backends/reference.ts";
import {
  attentionBackward,
  type AttentionDims,
  attentionForward,
  encoderLayerBackward,
  encoderLayerForward,
  type LayerActivations,
  type LayerScratch,
  linear,
  linearBackward,
} from "./layers.ts";
import type { LayerTensors } from "./params.ts";
import { additiveMask } from "./kernels/softmax.ts";
import { seq2seqMask } from "./masks.ts";

const be = new ReferenceBackend({ precision: "float64" });
const t = (data: Float64Array, shape: number[]): Tensor => {
  const x = be.alloc(shape);
  be.write(x, data);
  return x;
};
const host = (x: Tensor) => (cpuData(x) as Float64Array).slice();

Deno.test("linearBackward() passes a float64 finite-difference check for x, W and b", () => {
  const rng = new Rng(41);
  const M = 5, K = 4, N = 3;
  const inputs = [
    rng.fillNormal(new Float64Array(M * K)),
    rng.fillNormal(new Float64Array(N * K)),
    rng.fillNormal(new Float64Array(N)),
  ];
  checkVjp(
    ([x, w, b]) => {
      const y = be.alloc([M, N]);
      linear(be, t(x, [M, K]), t(w, [N, K]), t(b, [N]), y);
      return host(y);
    },
    ([x, w], dy) => {
      const dx = be.alloc([M, K]), dw = be.alloc([N, K]), db = be.alloc([N]);
      linearBackward(be, { x: t(x, [M, K]), w: t(w, [N, K]), dy: t(dy, [M, N]), dx, dw, db });
      return [host(dx), host(dw), host(db)];
    },
    inputs,
    { name: "linear", rtol: 1e-7 },
  );
});

const D: AttentionDims = { S: 2, L: 7, NH: 2, HS: 3 };
const C = D.NH * D.HS, R = 2;
function mask(): Tensor {
  const m = new Uint8Array(D.S * D.L * D.L);
  for (let s = 0; s < D.S; s++) m.set(seq2seqMask({ L: D.L, R, textLength: 2 + s }), s * D.L * D.L);
  return t(additiveMask(m, new Float64Array(m.length)), [D.S, D.L, D.L]);
}

for (const drop of [null, { p: 0.25, seed: 99 }]) {
  Deno.test(`attention backward passes a float64 finite-difference check (${drop ? "with" : "without"} dropout)`, () => {
    const rng = new Rng(42);
    const m = mask();
    const att = () => ({
      scores: be.alloc([D.S, D.NH, D.L, D.L]),
      probs: be.alloc([D.S, D.NH, D.L, D.L]),
      probsD: be.alloc([D.S, D.NH, D.L, D.L]),
    });
    const fwd = (qkv: Float64Array) => {
      const a = att(), ctx = be.alloc([D.S * D.L, C]), q = t(qkv, [D.S * D.L, 3 * C]);
      attentionForward(be, { qkv: q, mask: m, ...a, ctx, dims: D }, drop);
      return { a, ctx, q };
    };
    checkVjp(
      ([qkv]) => host(fwd(qkv).ctx),
      ([qkv], dy) => {
        const { a, q } = fwd(qkv);
        const dqkv = be.alloc([D.S * D.L, 3 * C]);
        attentionBackward(be, {
          qkv: q,
          probs: a.probs,
          probsD: a.probsD,
          dctx: t(dy, [D.S * D.L, C]),
          dqkv,
          s1: be.alloc([D.S, D.NH, D.L, D.L]),
          s2: be.alloc([D.S, D.NH, D.L, D.L]),
          dims: D,
        }, drop);
        return [host(dqkv)];
      },
      [rng.fillNormal(new Float64Array(D.S * D.L * 3 * C))],
      { name: "attention", rtol: 1e-7 },
    );
  });
}

Deno.test("encoderLayerBackward() passes a float64 finite-difference check for the input and all 12 parameters", () => {
  const rng = new Rng(43);
  const I = 5, rows = D.S * D.L;
  const shapes: Record<keyof LayerTensors, number[]> = {
    qkvW: [3 * C, C],
    qkvB: [3 * C],
    attnOutW: [C, C],
    attnOutB: [C],
    ln1W: [C],
    ln1B: [C],
    ffnInW: [I, C],
    ffnInB: [I],
    ffnOutW: [C, I],
    ffnOutB: [C],
    ln2W: [C],
    ln2B: [C],
  };
  const names = Object.keys(shapes) as (keyof LayerTensors)[];
  const m = mask();
  const acts = (): LayerActivations => {
    const f = (...s: number[]) => be.alloc(s);
    return {
      qkv: f(rows, 3 * C),
      probs: f(D.S, D.NH, D.L, D.L),
      probsD: f(D.S, D.NH, D.L, D.L),
      ctx: f(rows, C),
      res1: f(rows, C),
      mean1: f(rows),
      rstd1: f(rows),
      attnOut: f(rows, C),
      ffnGrad: f(rows, I),
      ffnAct: f(rows, I),
      res2: f(rows, C),
      mean2: f(rows),
      rstd2: f(rows),
      out: f(rows, C),
      seeds: [0, 0, 0],
    };
  };
  const scratch = (): LayerScratch => {
    const f = (...s: number[]) => be.alloc(s);
    return {
      scores: f(D.S, D.NH, D.L, D.L),
      c1: f(rows, C),
      c2: f(rows, C),
      c3: f(rows, C),
      c4: f(rows, C),
      i1: f(rows, I),
      i2: f(rows, I),
      dqkv: f(rows, 3 * C),
      s1: f(D.S, D.NH, D.L, D.L),
      s2: f(D.S, D.NH, D.L, D.L),
    };
  };
  const drop = { hidden: 0.2, attention: 0.1 };
  const layer = (vals: Float64Array[]) =>
    Object.fromEntries(names.map((n, i) => [n, t(vals[i + 1], shapes[n])])) as unknown as LayerTensors;
  const run = (vals: Float64Array[]) => {
    const a = acts(), sc = scratch(), x = t(vals[0], [rows, C]);
    let s = 7;
    encoderLayerForward(be, layer(vals), x, m, a, sc, D, 1e-5, { ...drop, seed: () => s++ });
    return { a, sc, x };
  };
  const inputs = [
    rng.fillNormal(new Float64Array(rows * C)),
    ...names.map((n) =>
      rng.fillNormal(
        new Float64Array(shapes[n].reduce((p, q) => p * q, 1)),
        n.startsWith("ln") && n.endsWith("W") ? 1 : 0,
        0.5,
      )
    ),
  ];
  checkVjp(
    (vals) => host(run(vals).a.out),
    (vals, dy) => {
      const { a, sc, x } = run(vals);
      const g = Object.fromEntries(names.map((n) => [n, be.alloc(shapes[n])])) as unknown as LayerTensors;
      const dx = t(dy, [rows, C]);
      encoderLayerBackward(be, layer(vals), g, x, a, sc, dx, D, drop);
      return [host(dx), ...names.map((n) => host(g[n]))];
    },
    inputs,
    { name: "encoder layer", rtol: 1e-6, probes: 2 },
  );
});
