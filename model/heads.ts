/**
 * VLP's heads on the last hidden state h [B, L, C] as forward/backward pairs over backend tensors: the
 * pooler (BertPooler), the masked-LM head (BertLMPredictionHead, decoder tied to the word embeddings) and
 * the VQA head (`ans_classifier` of BertForPreTrainingLossMask). The full forward (vlp.ts) uses all three;
 * the incremental decoder (incremental.ts) the masked-LM head on each sequence's `[MASK]`. The ONNX graphs
 * (onnx/vlp_graph.ts: `pooler`, `mlmHead`, `vqaHead`) follow them. The losses on top are vlp.ts's.
 *
 * @module
 */
import type { Backend, Tensor } from "./backend.ts";
import type { ModelTensors } from "./params.ts";
import { linear, linearBackward } from "./layers.ts";

/**
 * pooled [B, C] = tanh(h[:, 0]·Wpᵀ + bp) for h [B, L, C] (the rows of position 0, stride L·C); `pre` [B, C]
 * receives the pre-activation.
 */
export function poolerForward(be: Backend, w: ModelTensors, h: Tensor, pre: Tensor, pooled: Tensor): void {
  const [B, L, C] = h.shape;
  be.matmul({ a: h, b: w.poolerW, c: pre, m: B, n: C, k: C, transB: true, lda: L * C, bias: w.poolerB });
  be.tanh({ x: pre, out: pooled });
}

/** Activations of the masked-LM head for M = B·P gathered rows. */
export interface MlmHeadBuffers {
  /** [M, C] the gathered hidden states */
  hm: Tensor;
  /** [M, C] hm·Wtᵀ + bt */
  t1: Tensor;
  /** [M, C] gelu */
  t2: Tensor;
  /** [M, C] gelu'(t1), written when given (a training forward; the backward then multiplies by it) */
  t1Grad?: Tensor;
  /** [M, C] LayerNorm */
  t3: Tensor;
  /** [M] LayerNorm statistics */
  mean: Tensor;
  rstd: Tensor;
  /** [M, V] logits */
  logits: Tensor;
}

/**
 * The masked-LM head on the rows `index` [B, P] of h [B, L, C]:
 *
 *   hm = gather(h, index)                       [B·P, C]
 *   logits = LN(gelu(hm·Wtᵀ + bt))·wteᵀ + bias  [B·P, V]   (decoder tied to the word embeddings)
 *
 * The transform's Linear and GELU run as one GEMM with the GELU epilogue where the backend fuses them (t1
 * is then not written); with `t.t1Grad` the GELU's derivative is saved for the backward.
 */
export function mlmHeadForward(
  be: Backend,
  w: ModelTensors,
  h: Tensor,
  index: Tensor,
  t: MlmHeadBuffers,
  eps: number,
): void {
  be.gatherRows({ x: h, index, out: t.hm });
  const g = t.t1Grad ? { grad: t.t1Grad } : {};
  if (!be.fused?.linearGelu({ x: t.hm, w: w.lmDenseW, bias: w.lmDenseB, pre: t.t1, out: t.t2, ...g })) {
    linear(be, t.hm, w.lmDenseW, w.lmDenseB, t.t1);
    be.gelu({ x: t.t1, out: t.t2, ...g });
  }
  be.layernorm({ x: t.t2, weight: w.lmLnW, bias: w.lmLnB, out: t.t3, mean: t.mean, rstd: t.rstd, eps });
  linear(be, t.t3, w.wte, w.lmBias, t.logits);
}

/**
 * Backward of {@linkcode mlmHeadForward} from dlogits [B·P, V]: scatter-adds d(h) into `dh` [B, L, C] (with
 * `writeDh`: writes it, zero outside the gathered rows) and
 * accumulates the parameter gradients (the tied decoder's into the word-embedding gradient). Scratch:
 * `dt3`, `dt2`, `dt1`, `dhm` [B·P, C]. The GELU backward multiplies by the saved `t.t1Grad` (fused: with the
 * transform's bias gradient), else takes gelu' at t1.
 */
export function mlmHeadBackward(
  be: Backend,
  w: ModelTensors,
  g: ModelTensors,
  index: Tensor,
  t: MlmHeadBuffers,
  d: { dlogits: Tensor; dt3: Tensor; dt2: Tensor; dt1: Tensor; dhm: Tensor; dh: Tensor; writeDh?: boolean },
): void {
  linearBackward(be, { x: t.t3, w: w.wte, dy: d.dlogits, dx: d.dt3, dw: g.wte, db: g.lmBias });
  be.layernormBackward({
    dout: d.dt3,
    x: t.t2,
    mean: t.mean,
    rstd: t.rstd,
    weight: w.lmLnW,
    dx: d.dt2,
    dweight: g.lmLnW,
    dbias: g.lmLnB,
  });
  let db: Tensor | null = g.lmDenseB;
  if (t.t1Grad && be.fused) {
    be.fused.mulColumnSum({ a: d.dt2, b: t.t1Grad, out: d.dt1, dsum: g.lmDenseB });
    db = null;
  } else if (t.t1Grad) be.mul({ a: d.dt2, b: t.t1Grad, out: d.dt1 });
  else be.geluBackward({ x: t.t1, dout: d.dt2, dx: d.dt1 });
  linearBackward(be, { x: t.hm, w: w.lmDenseW, dy: d.dt1, dx: d.dhm, dw: g.lmDenseW, db });
  if (!d.writeDh) be.scatterAddRows({ dout: d.dhm, index, dx: d.dh });
  else if (be.fused) be.fused.scatterRows({ dout: d.dhm, index, dx: d.dh });
  else {
    be.fill(d.dh, 0);
    be.scatterAddRows({ dout: d.dhm, index, dx: d.dh });
  }
}

/** Activations of the VQA head. */
export interface VqaHeadBuffers {
  /** [B, 1] int32 = 0 (the `[CLS]` row) */
  clsIdx: Tensor;
  /** [B, 1] int32 = R + 1 (the first `[SEP]` row) */
  sepIdx: Tensor;
  /** [B, C] h[:, 0] */
  c0: Tensor;
  /** [B, C] h[:, R+1] */
  c1: Tensor;
  /** [B, C] c0 ⊙ c1 */
  z: Tensor;
  /** [B, 2C] z·Wa0ᵀ + ba0 */
  a1Pre: Tensor;
  /** [B, 2C] relu */
  a1: Tensor;
  /** [B, A] */
  logits: Tensor;
}

/** The VQA head: logits [B, A] = relu((h[:,0] ⊙ h[:,R+1])·Wa0ᵀ + ba0)·Wa2ᵀ + ba2 for h [B, L, C]. */
export function vqaHeadForward(be: Backend, w: ModelTensors, h: Tensor, t: VqaHeadBuffers): void {
  be.gatherRows({ x: h, index: t.clsIdx, out: t.c0 });
  be.gatherRows({ x: h, index: t.sepIdx, out: t.c1 });
  be.mul({ a: t.c0, b: t.c1, out: t.z });
  linear(be, t.z, w.ans0W!, w.ans0B!, t.a1Pre);
  be.relu({ x: t.a1Pre, out: t.a1 });
  linear(be, t.a1, w.ans2W!, w.ans2B!, t.logits);
}

/**
 * Backward of {@linkcode vqaHeadForward} from dlogits [B, A]: scatter-adds d(h) into `dh` [B, L, C] and
 * accumulates the parameter gradients. Scratch: `da1`, `da1Pre` [B, 2C], `dz`, `dc` [B, C].
 */
export function vqaHeadBackward(
  be: Backend,
  w: ModelTensors,
  g: ModelTensors,
  t: VqaHeadBuffers,
  d: { dlogits: Tensor; da1: Tensor; da1Pre: Tensor; dz: Tensor; dc: Tensor; dh: Tensor },
): void {
  linearBackward(be, { x: t.a1, w: w.ans2W!, dy: d.dlogits, dx: d.da1, dw: g.ans2W!, db: g.ans2B! });
  be.reluBackward({ y: t.a1, dout: d.da1, dx: d.da1Pre });
  linearBackward(be, { x: t.z, w: w.ans0W!, dy: d.da1Pre, dx: d.dz, dw: g.ans0W!, db: g.ans0B! });
  be.mul({ a: d.dz, b: t.c1, out: d.dc });
  be.scatterAddRows({ dout: d.dc, index: t.clsIdx, dx: d.dh });
  be.mul({ a: d.dz, b: t.c0, out: d.dc });
  be.scatterAddRows({ dout: d.dc, index: t.sepIdx, dx: d.dh });
}
