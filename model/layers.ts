/**
 * The encoder's layers as forward/backward pairs over backend tensors (llm.c style): a Linear, self-attention
 * over a [S, L, 3C] block of queries, keys and values, the attention output block and the FFN block, and
 * the post-LN BERT encoder layer built from them. Each forward is a flat list of backend calls; each
 * backward is the same list reversed. The region branches and embeddings are in embeddings.ts, the heads in
 * heads.ts; the full forward (vlp.ts) and the incremental decoder (incremental.ts) are built from these
 * functions, and the ONNX graphs (onnx/vlp_graph.ts) follow the same list and names.
 *
 * Conventions: parameter gradients accumulate (+=); activation gradients are written (=) except where a
 * call says it accumulates (the residual stream).
 *
 * @module
 */
import type { Backend, Tensor } from "./backend.ts";
import type { LayerTensors } from "./params.ts";
import { type HalfBackend, isHalfTensor } from "./half.ts";

/** Dropout at one site of a training forward: probability and seed (null where a call takes no dropout). */
export interface DropoutSite {
  p: number;
  seed: number;
}

/** y [M, N] = x [M, K] · Wᵀ + b, with W [N, K] (PyTorch's Linear). */
export function linear(be: Backend, x: Tensor, w: Tensor, b: Tensor, y: Tensor): void {
  const [n, k] = w.shape;
  be.matmul({ a: x, b: w, c: y, m: x.size / k, n, k, transB: true, bias: b });
}

/**
 * Backward of {@linkcode linear}: dx = dy·W (or dx += with `accumulateDx`; skipped when dx is null),
 * dW += dyᵀ·x, db += Σ dy (skipped when db is null: a fused call summed it). Fused where the backend has
 * it (the WebGPU backend runs both products in one dispatch).
 */
export function linearBackward(
  be: Backend,
  a: {
    x: Tensor;
    w: Tensor;
    dy: Tensor;
    dx: Tensor | null;
    dw: Tensor;
    db: Tensor | null;
    accumulateDx?: boolean;
  },
): void {
  if (be.fused) {
    // fused: the bias sum's (and a split-K product's) final stage may be held back (FusedOps)
    const { dx, db, ...rest } = a;
    return be.fused.linearBackward({ ...rest, ...(dx ? { dx } : {}), ...(db ? { db } : {}) });
  }
  const [n, k] = a.w.shape;
  const m = a.x.size / k;
  if (a.dx) be.matmul({ a: a.dy, b: a.w, c: a.dx, m, n: k, k: n, beta: a.accumulateDx ? 1 : 0 });
  be.matmul({ a: a.dy, b: a.x, c: a.dw, m: n, n: k, k: m, transA: true, beta: 1 });
  if (a.db) be.sumRows({ x: a.dy, out: a.db, accumulate: true });
}

/** Sizes of one self-attention call. */
export interface AttentionDims {
  /** sequences */
  S: number;
  /** positions (queries = keys) */
  L: number;
  NH: number;
  HS: number;
}

/**
 * Self-attention (BertSelfAttention) over qkv [S, L, 3C] (rows [q | k | v], head h at columns h·HS):
 *
 *   scores[s,h] = Q Kᵀ / √HS                 [S, NH, L, L]
 *   probs       = softmax(scores + mask)     (mask [S, L, L] additive)
 *   probsD      = dropout(probs)             (probsD = probs without dropout)
 *   ctx[s,:,h]  = probsD[s,h] · V            [S, L, C]
 */
export function attentionForward(
  be: Backend,
  a: {
    qkv: Tensor;
    mask: Tensor;
    scores: Tensor;
    probs: Tensor;
    probsD: Tensor;
    ctx: Tensor;
    dims: AttentionDims;
  },
  dropout: DropoutSite | null,
): void {
  const { S, L, NH, HS } = a.dims;
  const { qkv, mask, probs, probsD, ctx } = a;
  if (be.fused?.attentionForward({ qkv, mask, probs, probsD, ctx, dims: a.dims, dropout })) return;
  const C = NH * HS, C3 = 3 * C;
  const k = be.view(a.qkv, C, [a.qkv.size - C]), v = be.view(a.qkv, 2 * C, [a.qkv.size - 2 * C]);
  be.matmul({
    a: a.qkv,
    b: k,
    c: a.scores,
    m: L,
    n: L,
    k: HS,
    transB: true,
    lda: C3,
    ldb: C3,
    alpha: 1 / Math.sqrt(HS),
    batch: [S, NH],
    strideA: [L * C3, HS],
    strideB: [L * C3, HS],
    strideC: [NH * L * L, L * L],
  });
  if (dropout && be.fused) {
    be.fused.softmaxDropout({ x: a.scores, mask: a.mask, probs: a.probs, dropped: a.probsD, ...dropout });
  } else {
    be.softmax({ x: a.scores, mask: a.mask, out: a.probs });
    if (dropout) be.dropout({ x: a.probs, out: a.probsD, p: dropout.p, seed: dropout.seed });
  }
  be.matmul({
    a: dropout ? a.probsD : a.probs,
    b: v,
    c: a.ctx,
    m: L,
    n: HS,
    k: L,
    ldb: C3,
    ldc: C,
    batch: [S, NH],
    strideA: [NH * L * L, L * L],
    strideB: [L * C3, HS],
    strideC: [L * C, HS],
  });
}

/**
 * Backward of {@linkcode attentionForward}: dqkv [S, L, 3C] written from dctx [S, L, C]. `s1`, `s2` are
 * [S, NH, L, L] scratch tensors. With `dbias` a fused backward may also add the Q/K/V bias gradient (the
 * column sums of dqkv) to it; returns whether it did (else the caller sums dqkv).
 */
export function attentionBackward(
  be: Backend,
  a: {
    qkv: Tensor;
    probs: Tensor;
    probsD: Tensor;
    dctx: Tensor;
    dqkv: Tensor;
    s1: Tensor;
    s2: Tensor;
    dims: AttentionDims;
    dbias?: Tensor;
  },
  dropout: DropoutSite | null,
): boolean {
  const { S, L, NH, HS } = a.dims;
  const { qkv, probs, dctx, dqkv, dbias } = a;
  if (be.fused?.attentionBackward({ qkv, probs, dctx, dqkv, dbias, dims: a.dims, dropout })) return !!dbias;
  const C = NH * HS, C3 = 3 * C, scale = 1 / Math.sqrt(HS);
  const q = a.qkv, k = be.view(a.qkv, C, [a.qkv.size - C]), v = be.view(a.qkv, 2 * C, [a.qkv.size - 2 * C]);
  const dq = a.dqkv,
    dk = be.view(a.dqkv, C, [a.dqkv.size - C]),
    dv = be.view(a.dqkv, 2 * C, [a.dqkv.size - 2 * C]);
  const headBatch = { batch: [S, NH], strideC: [NH * L * L, L * L] };
  // dprobsD [S,NH,L,L] = dctx · Vᵀ
  be.matmul({
    a: a.dctx,
    b: v,
    c: a.s1,
    m: L,
    n: L,
    k: HS,
    transB: true,
    lda: C,
    ldb: C3,
    ...headBatch,
    strideA: [L * C, HS],
    strideB: [L * C3, HS],
  });
  // dV = probsDᵀ · dctx
  be.matmul({
    a: dropout ? a.probsD : a.probs,
    b: a.dctx,
    c: dv,
    m: L,
    n: HS,
    k: L,
    transA: true,
    lda: L,
    ldb: C,
    ldc: C3,
    batch: [S, NH],
    strideA: [NH * L * L, L * L],
    strideB: [L * C, HS],
    strideC: [L * C3, HS],
  });
  // dprobs, then dscores = softmax backward
  let dscores: Tensor;
  if (dropout && be.fused) {
    be.fused.softmaxDropoutBackward({ probs: a.probs, ddropped: a.s1, dx: a.s2, ...dropout });
    dscores = a.s2;
  } else if (dropout) {
    be.dropoutBackward({ dout: a.s1, dx: a.s2, p: dropout.p, seed: dropout.seed });
    be.softmaxBackward({ p: a.probs, dp: a.s2, dx: a.s1 });
    dscores = a.s1;
  } else {
    be.softmaxBackward({ p: a.probs, dp: a.s1, dx: a.s2 });
    dscores = a.s2;
  }
  const scoreOperand = {
    lda: L,
    batch: [S, NH],
    strideA: [NH * L * L, L * L],
    ldc: C3,
    strideC: [L * C3, HS],
  };
  // dQ = dscores · K / √HS
  be.matmul({
    a: dscores,
    b: k,
    c: dq,
    m: L,
    n: HS,
    k: L,
    ldb: C3,
    alpha: scale,
    ...scoreOperand,
    strideB: [L * C3, HS],
  });
  // dK = dscoresᵀ · Q / √HS
  be.matmul({
    a: dscores,
    b: q,
    c: dk,
    m: L,
    n: HS,
    k: L,
    transA: true,
    ldb: C3,
    alpha: scale,
    ...scoreOperand,
    strideB: [L * C3, HS],
  });
  return false;
}

/** Activations of one encoder layer that the backward needs. */
export interface LayerActivations {
  /** [S·L, 3C] */
  qkv: Tensor;
  /** [S, NH, L, L] softmax output */
  probs: Tensor;
  /** [S, NH, L, L] after dropout (the same tensor as probs without dropout) */
  probsD: Tensor;
  /** [S·L, C] attention context */
  ctx: Tensor;
  /** [S·L, C] attention output (after dropout) + layer input */
  res1: Tensor;
  /** [S·L] */
  mean1: Tensor;
  rstd1: Tensor;
  /** [S·L, C] LayerNorm(res1) */
  attnOut: Tensor;
  /** [S·L, I] GELU derivative at the intermediate pre-activation (written when saving for backward) */
  ffnGrad: Tensor;
  /** [S·L, I] GELU output */
  ffnAct: Tensor;
  /** [S·L, C] FFN output (after dropout) + attnOut */
  res2: Tensor;
  mean2: Tensor;
  rstd2: Tensor;
  /** [S·L, C] layer output */
  out: Tensor;
  /** dropout seeds of this layer's last training forward: attention probs, attention output, FFN output */
  seeds: [number, number, number];
}

/** Scratch shared by all layers. */
export interface LayerScratch {
  // forward: i1 holds the intermediate pre-activation; backward: all of them are scratch
  /** [S, NH, L, L] */
  scores: Tensor;
  /** [S·L, C] ×4 */
  c1: Tensor;
  c2: Tensor;
  c3: Tensor;
  c4: Tensor;
  /** [S·L, I] ×2 */
  i1: Tensor;
  i2: Tensor;
  /** [S·L, 3C] */
  dqkv: Tensor;
  /** [S, NH, L, L] ×2 (backward only) */
  s1: Tensor;
  s2: Tensor;
}

/** Dropout probabilities of a training forward (null: eval mode, no dropout). */
export interface DropoutPlan {
  hidden: number;
  attention: number;
  /** a fresh uint32 seed per dropout call */
  seed: () => number;
}

/** Buffers of an output block (the attention output block, or the FFN's second half). */
export interface OutputBlockBuffers {
  /** [rows, C] in·Wᵀ + b (scratch) */
  proj: Tensor;
  /** [rows, C] its dropout (scratch; training only) */
  dropped: Tensor;
  /** [rows, C] residual sum */
  res: Tensor;
  /** [rows] LayerNorm statistics */
  mean: Tensor;
  rstd: Tensor;
  /** [rows, C] the block's output */
  out: Tensor;
}

/** Buffers of the FFN block (BertIntermediate + BertOutput). */
export interface FfnBuffers extends OutputBlockBuffers {
  /** [rows, I] intermediate pre-activation (scratch) */
  pre: Tensor;
  /** [rows, I] GELU output */
  act: Tensor;
  /** [rows, I] GELU derivative at `pre`, written when given (for the backward) */
  grad?: Tensor;
}

/** The Linear and the LayerNorm of an output block (weights, or their gradients). */
interface OutputBlockParams {
  w: Tensor;
  b: Tensor;
  lnW: Tensor;
  lnB: Tensor;
}

const attnOutputParams = (w: LayerTensors): OutputBlockParams => ({
  w: w.attnOutW,
  b: w.attnOutB,
  lnW: w.ln1W,
  lnB: w.ln1B,
});
const ffnOutputParams = (w: LayerTensors): OutputBlockParams => ({
  w: w.ffnOutW,
  b: w.ffnOutB,
  lnW: w.ln2W,
  lnB: w.ln2B,
});

/**
 * An output block (BertSelfOutput and BertOutput are the same arithmetic), on `inp` [rows, ·] and the
 * residual x [rows, C]: res = dropout(inp·Wᵀ + b) + x ;  out = LN(res).
 */
function outputBlockForward(
  be: Backend,
  p: OutputBlockParams,
  inp: Tensor,
  x: Tensor,
  t: OutputBlockBuffers,
  eps: number,
  drop: DropoutSite | null,
): void {
  linear(be, inp, p.w, p.b, t.proj);
  if (be.fused) {
    const { res, out, mean, rstd } = t;
    be.fused.residualLayernorm({
      proj: t.proj,
      resid: x,
      weight: p.lnW,
      bias: p.lnB,
      res,
      out,
      mean,
      rstd,
      eps,
      dropout: drop,
    });
    return;
  }
  if (drop) be.dropout({ x: t.proj, out: t.dropped, ...drop });
  be.add({ a: drop ? t.dropped : t.proj, b: x, out: t.res });
  be.layernorm({ x: t.res, weight: p.lnW, bias: p.lnB, out: t.out, mean: t.mean, rstd: t.rstd, eps });
}

/**
 * Backward of an output block from dout = d(out): writes d(res) (the residual part of d(x)) into `dres` and
 * d(inp) into `dinp`. Scratch: `ddrop` [rows, C]. Parameter gradients accumulate into `g`.
 */
function outputBlockBackward(
  be: Backend,
  p: OutputBlockParams,
  g: OutputBlockParams,
  a: { inp: Tensor; res: Tensor; mean: Tensor; rstd: Tensor },
  d: { dout: Tensor; dres: Tensor; ddrop: Tensor; dinp: Tensor },
  drop: DropoutSite | null,
): void {
  if (be.fused) {
    // out = LN(dropout(proj) + x): d(res), d(proj) and the bias and LayerNorm gradients in one fused call
    be.fused.residualLayernormBackward({
      dout: d.dout,
      res: a.res,
      mean: a.mean,
      rstd: a.rstd,
      weight: p.lnW,
      dres: d.dres,
      dproj: d.ddrop,
      dweight: g.lnW,
      dbias: g.lnB,
      dprojBias: g.b,
      dropout: drop,
    });
    linearBackward(be, { x: a.inp, w: p.w, dy: d.ddrop, dx: d.dinp, dw: g.w, db: null });
    return;
  }
  // out = LN(res)
  be.layernormBackward({
    dout: d.dout,
    x: a.res,
    mean: a.mean,
    rstd: a.rstd,
    weight: p.lnW,
    dx: d.dres,
    dweight: g.lnW,
    dbias: g.lnB,
  });
  // res = dropout(inp·Wᵀ + b) + x
  if (drop) be.dropoutBackward({ dout: d.dres, dx: d.ddrop, ...drop });
  linearBackward(be, { x: a.inp, w: p.w, dy: drop ? d.ddrop : d.dres, dx: d.dinp, dw: g.w, db: g.b });
}

/**
 * The attention output block (BertSelfOutput) on ctx, x [rows, C]:
 *
 *   res = dropout(ctx·Woᵀ + bo) + x ;  out = LN1(res)
 */
export function attentionOutputForward(
  be: Backend,
  w: LayerTensors,
  ctx: Tensor,
  x: Tensor,
  t: OutputBlockBuffers,
  eps: number,
  drop: DropoutSite | null,
): void {
  outputBlockForward(be, attnOutputParams(w), ctx, x, t, eps, drop);
}

/**
 * The FFN block (BertIntermediate + BertOutput) on x [rows, C]:
 *
 *   pre = x·Wiᵀ + bi ;  act = gelu(pre)   (grad = gelu'(pre) when `t.grad` is given)
 *   res = dropout(act·Wo2ᵀ + bo2) + x ;  out = LN2(res)
 */
export function ffnForward(
  be: Backend,
  w: LayerTensors,
  x: Tensor,
  t: FfnBuffers,
  eps: number,
  drop: DropoutSite | null,
): void {
  // the Linear and its GELU (fused: one GEMM with the GELU epilogue; pre is then not written)
  const g = t.grad ? { grad: t.grad } : {};
  if (!be.fused?.linearGelu({ x, w: w.ffnInW, bias: w.ffnInB, pre: t.pre, out: t.act, ...g })) {
    linear(be, x, w.ffnInW, w.ffnInB, t.pre);
    if (isHalfTensor(t.act)) {
      // --fp16 (act float16) where the product splits: gelu in place (element-wise), then the float16 copy
      be.gelu({ x: t.pre, out: t.pre, ...g });
      (be as HalfBackend).castToF16(t.pre, t.act);
    } else {
      be.gelu({ x: t.pre, out: t.act, ...g });
    }
  }
  outputBlockForward(be, ffnOutputParams(w), t.act, x, t, eps, drop);
}

/**
 * Backward of {@linkcode ffnForward} from dout = d(out): writes d(x) into `dx`. Scratch: `ddrop` [rows, C],
 * `dact` and `dpre` [rows, I]. Parameter gradients accumulate into `g`.
 */
export function ffnBackward(
  be: Backend,
  w: LayerTensors,
  g: LayerTensors,
  a: { x: Tensor; act: Tensor; grad: Tensor; res: Tensor; mean: Tensor; rstd: Tensor },
  d: { dout: Tensor; dx: Tensor; ddrop: Tensor; dact: Tensor; dpre: Tensor },
  drop: DropoutSite | null,
): void {
  outputBlockBackward(be, ffnOutputParams(w), ffnOutputParams(g), { ...a, inp: a.act }, {
    dout: d.dout,
    dres: d.dx,
    ddrop: d.ddrop,
    dinp: d.dact,
  }, drop);
  // GELU backward with the saved derivative (fused: with the FFN-in bias gradient)
  if (be.fused) be.fused.mulColumnSum({ a: d.dact, b: a.grad, out: d.dpre, dsum: g.ffnInB });
  else be.mul({ a: d.dact, b: a.grad, out: d.dpre });
  // d(x) = d(res) + dpre·Wi  (accumulated onto dx)
  linearBackward(be, {
    x: a.x,
    w: w.ffnInW,
    dy: d.dpre,
    dx: d.dx,
    dw: g.ffnInW,
    db: be.fused ? null : g.ffnInB,
    accumulateDx: true,
  });
}

/**
 * Backward of {@linkcode attentionOutputForward} from dout = d(out): writes d(res) (the residual part of
 * d(x)) into `dres` and d(ctx) into `dctx`. Scratch: `ddrop` [rows, C]. Parameter gradients accumulate.
 */
export function attentionOutputBackward(
  be: Backend,
  w: LayerTensors,
  g: LayerTensors,
  a: { ctx: Tensor; res: Tensor; mean: Tensor; rstd: Tensor },
  d: { dout: Tensor; dres: Tensor; ddrop: Tensor; dctx: Tensor },
  drop: DropoutSite | null,
): void {
  outputBlockBackward(be, attnOutputParams(w), attnOutputParams(g), { ...a, inp: a.ctx }, {
    ...d,
    dinp: d.dctx,
  }, drop);
}

/**
 * One post-LN BERT layer (BertLayer) on x [S·L, C]:
 *
 *   qkv     = x·Wqkvᵀ + bqkv                       [S·L, 3C]
 *   ctx     = attention(qkv, mask)                 [S·L, C]   (attentionForward)
 *   attnOut = LN1(dropout(ctx·Woᵀ + bo) + x)       (attentionOutputForward)
 *   out     = LN2(dropout(ffn(attnOut)) + attnOut)  (ffnForward; ffnGrad = gelu'(ffnPre) when `saveGrad`)
 *
 * Training mode draws three seeds per layer, in this order: attention probabilities, attention output,
 * FFN output.
 */
export function encoderLayerForward(
  be: Backend,
  w: LayerTensors,
  x: Tensor,
  mask: Tensor,
  act: LayerActivations,
  sc: LayerScratch,
  d: AttentionDims,
  eps: number,
  drop: DropoutPlan | null,
  saveGrad = true,
): void {
  if (drop) act.seeds = [drop.seed(), drop.seed(), drop.seed()];
  const site = (i: number, p: number) => (drop ? { p, seed: act.seeds[i] } : null);
  linear(be, x, w.qkvW, w.qkvB, act.qkv);
  attentionForward(
    be,
    { qkv: act.qkv, mask, scores: sc.scores, probs: act.probs, probsD: act.probsD, ctx: act.ctx, dims: d },
    site(0, drop?.attention ?? 0),
  );
  attentionOutputForward(
    be,
    w,
    act.ctx,
    x,
    {
      proj: sc.c1,
      dropped: sc.c2,
      res: act.res1,
      mean: act.mean1,
      rstd: act.rstd1,
      out: act.attnOut,
    },
    eps,
    site(1, drop?.hidden ?? 0),
  );
  ffnForward(
    be,
    w,
    act.attnOut,
    {
      pre: sc.i1,
      act: act.ffnAct,
      ...(saveGrad ? { grad: act.ffnGrad } : {}),
      proj: sc.c1,
      dropped: sc.c2,
      res: act.res2,
      mean: act.mean2,
      rstd: act.rstd2,
      out: act.out,
    },
    eps,
    site(2, drop?.hidden ?? 0),
  );
}

/**
 * Backward of {@linkcode encoderLayerForward}. `dx` holds d(out) on entry and d(x) on return; `x` is the
 * layer input. Parameter gradients accumulate into `g`.
 */
export function encoderLayerBackward(
  be: Backend,
  w: LayerTensors,
  g: LayerTensors,
  x: Tensor,
  act: LayerActivations,
  sc: LayerScratch,
  dx: Tensor,
  d: AttentionDims,
  drop: { hidden: number; attention: number } | null,
): void {
  const site = (i: number, p: number) => (drop ? { p, seed: act.seeds[i] } : null);
  // d(attnOut) into c2
  ffnBackward(
    be,
    w,
    g,
    { x: act.attnOut, act: act.ffnAct, grad: act.ffnGrad, res: act.res2, mean: act.mean2, rstd: act.rstd2 },
    { dout: dx, dx: sc.c2, ddrop: sc.c3, dact: sc.i1, dpre: sc.i2 },
    site(2, drop?.hidden ?? 0),
  );
  // d(res1) into dx, d(ctx) into c4
  attentionOutputBackward(
    be,
    w,
    g,
    { ctx: act.ctx, res: act.res1, mean: act.mean1, rstd: act.rstd1 },
    { dout: sc.c2, dres: dx, ddrop: sc.c3, dctx: sc.c4 },
    site(1, drop?.hidden ?? 0),
  );
  const biasSummed = attentionBackward(
    be,
    {
      qkv: act.qkv,
      probs: act.probs,
      probsD: act.probsD,
      dctx: sc.c4,
      dqkv: sc.dqkv,
      s1: sc.s1,
      s2: sc.s2,
      dims: d,
      dbias: g.qkvB,
    },
    site(0, drop?.attention ?? 0),
  );
  // d(x) = d(res1) + dqkv·Wqkv  (accumulated onto dx)
  const db = biasSummed ? null : g.qkvB;
  linearBackward(be, { x, w: w.qkvW, dy: sc.dqkv, dx, dw: g.qkvW, db, accumulateDx: true });
}
