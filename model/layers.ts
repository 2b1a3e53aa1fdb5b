/**
 * The model's layers as forward/backward pairs over backend tensors (llm.c style): a Linear, self-attention
 * over a [S, L, 3C] block of queries, keys and values, and the post-LN BERT encoder layer. Each forward is
 * a flat list of backend calls; each backward is the same list reversed.
 *
 * Conventions: parameter gradients accumulate (+=); activation gradients are written (=) except where a
 * call says it accumulates (the residual stream).
 *
 * @module
 */
import type { Backend, Tensor } from "./backend.ts";
import type { LayerTensors } from "./params.ts";

/** y [M, N] = x [M, K] · Wᵀ + b, with W [N, K] (PyTorch's Linear). */
export function linear(be: Backend, x: Tensor, w: Tensor, b: Tensor, y: Tensor): void {
  const [n, k] = w.shape;
  be.matmul({ a: x, b: w, c: y, m: x.size / k, n, k, transB: true, bias: b });
}

/**
 * Backward of {@linkcode linear}: dW += dyᵀ·x, db += Σ dy, and dx = dy·W (or dx += with `accumulateDx`;
 * skipped when dx is null).
 */
export function linearBackward(
  be: Backend,
  a: { x: Tensor; w: Tensor; dy: Tensor; dx: Tensor | null; dw: Tensor; db: Tensor; accumulateDx?: boolean },
): void {
  const [n, k] = a.w.shape;
  const m = a.x.size / k;
  if (a.dx) be.matmul({ a: a.dy, b: a.w, c: a.dx, m, n: k, k: n, beta: a.accumulateDx ? 1 : 0 });
  be.matmul({ a: a.dy, b: a.x, c: a.dw, m: n, n: k, k: m, transA: true, beta: 1 });
  be.sumRows({ x: a.dy, out: a.db, accumulate: true });
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
  dropout: { p: number; seed: number } | null,
): void {
  const { S, L, NH, HS } = a.dims;
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
  be.softmax({ x: a.scores, mask: a.mask, out: a.probs });
  if (dropout) be.dropout({ x: a.probs, out: a.probsD, p: dropout.p, seed: dropout.seed });
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
 * [S, NH, L, L] scratch tensors.
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
  },
  dropout: { p: number; seed: number } | null,
): void {
  const { S, L, NH, HS } = a.dims;
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
  if (dropout) {
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

/**
 * One post-LN BERT layer (BertLayer):
 *
 *   qkv  = x·Wqkvᵀ + bqkv
 *   ctx  = attention(qkv, mask)
 *   res1 = dropout(ctx·Woᵀ + bo) + x ;  attnOut = LN1(res1)
 *   ffnPre = attnOut·Wiᵀ + bi ;  ffnAct = gelu(ffnPre)   (ffnGrad = gelu'(ffnPre) when `saveGrad`)
 *   res2 = dropout(ffnAct·Wo2ᵀ + bo2) + attnOut ;  out = LN2(res2)
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
  const dp = (i: number, p: number) => (drop ? { p, seed: act.seeds[i] } : null);
  linear(be, x, w.qkvW, w.qkvB, act.qkv);
  attentionForward(
    be,
    { qkv: act.qkv, mask, scores: sc.scores, probs: act.probs, probsD: act.probsD, ctx: act.ctx, dims: d },
    dp(0, drop?.attention ?? 0),
  );
  linear(be, act.ctx, w.attnOutW, w.attnOutB, sc.c1);
  if (drop) be.dropout({ x: sc.c1, out: sc.c2, p: drop.hidden, seed: act.seeds[1] });
  be.add({ a: drop ? sc.c2 : sc.c1, b: x, out: act.res1 });
  be.layernorm({
    x: act.res1,
    weight: w.ln1W,
    bias: w.ln1B,
    out: act.attnOut,
    mean: act.mean1,
    rstd: act.rstd1,
    eps,
  });
  linear(be, act.attnOut, w.ffnInW, w.ffnInB, sc.i1);
  be.gelu({ x: sc.i1, out: act.ffnAct, ...(saveGrad ? { grad: act.ffnGrad } : {}) });
  linear(be, act.ffnAct, w.ffnOutW, w.ffnOutB, sc.c1);
  if (drop) be.dropout({ x: sc.c1, out: sc.c2, p: drop.hidden, seed: act.seeds[2] });
  be.add({ a: drop ? sc.c2 : sc.c1, b: act.attnOut, out: act.res2 });
  be.layernorm({
    x: act.res2,
    weight: w.ln2W,
    bias: w.ln2B,
    out: act.out,
    mean: act.mean2,
    rstd: act.rstd2,
    eps,
  });
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
  // out = LN2(res2)
  be.layernormBackward({
    dout: dx,
    x: act.res2,
    mean: act.mean2,
    rstd: act.rstd2,
    weight: w.ln2W,
    dx: sc.c2,
    dweight: g.ln2W,
    dbias: g.ln2B,
  });
  // res2 = dropout(ffnAct·Wo2ᵀ + bo2) + attnOut
  if (drop) be.dropoutBackward({ dout: sc.c2, dx: sc.c3, p: drop.hidden, seed: act.seeds[2] });
  linearBackward(be, {
    x: act.ffnAct,
    w: w.ffnOutW,
    dy: drop ? sc.c3 : sc.c2,
    dx: sc.i1,
    dw: g.ffnOutW,
    db: g.ffnOutB,
  });
  be.mul({ a: sc.i1, b: act.ffnGrad, out: sc.i2 }); // GELU backward with the saved derivative
  // d(attnOut) = d(res2) + dffnPre·Wi  (accumulated onto c2)
  linearBackward(be, {
    x: act.attnOut,
    w: w.ffnInW,
    dy: sc.i2,
    dx: sc.c2,
    dw: g.ffnInW,
    db: g.ffnInB,
    accumulateDx: true,
  });
  // attnOut = LN1(res1)
  be.layernormBackward({
    dout: sc.c2,
    x: act.res1,
    mean: act.mean1,
    rstd: act.rstd1,
    weight: w.ln1W,
    dx,
    dweight: g.ln1W,
    dbias: g.ln1B,
  });
  // res1 = dropout(ctx·Woᵀ + bo) + x
  if (drop) be.dropoutBackward({ dout: dx, dx: sc.c3, p: drop.hidden, seed: act.seeds[1] });
  linearBackward(be, {
    x: act.ctx,
    w: w.attnOutW,
    dy: drop ? sc.c3 : dx,
    dx: sc.c4,
    dw: g.attnOutW,
    db: g.attnOutB,
  });
  attentionBackward(
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
    },
    drop ? { p: drop.attention, seed: act.seeds[0] } : null,
  );
  // d(x) = d(res1) + dqkv·Wqkv  (accumulated onto dx)
  linearBackward(be, { x, w: w.qkvW, dy: sc.dqkv, dx, dw: g.qkvW, db: g.qkvB, accumulateDx: true });
}
