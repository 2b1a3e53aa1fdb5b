/**
 * The device tensors of one batch shape of {@linkcode VlpModel}: inputs, the activations of every step of
 * the forward (the region branches, embeddings, layers and heads, grouped as the layer functions of
 * embeddings.ts, layers.ts and heads.ts take them), scratch, and the backward's buffers. Allocated once per
 * shape (one set for evaluation, one for training) and reused.
 *
 * @module
 */
import type { Backend, Tensor } from "./backend.ts";
import type { Dims } from "./config.ts";
import type { BatchDims } from "./batch.ts";
import type { Task } from "./params.ts";
import type { LayerActivations, LayerScratch } from "./layers.ts";
import type { EmbeddingBuffers, RegionBuffers } from "./embeddings.ts";
import type { MlmHeadBuffers, VqaHeadBuffers } from "./heads.ts";
import type { HalfBackend } from "./half.ts";

/** The masked-LM head's activations, its loss and its backward buffers (M = B·P rows). */
export interface MlmActivations extends MlmHeadBuffers {
  /** [M] per-row cross entropy */
  ce: Tensor;
  /** [M] dloss/dce (the reduction's coefficients) */
  coef: Tensor;
  /** [M, V] */
  dlogits: Tensor;
  /** [M, C] ×4 */
  dt3: Tensor;
  dt2: Tensor;
  dt1: Tensor;
  dhm: Tensor;
}

/** The VQA head's activations and its backward buffers. */
export interface VqaActivations extends VqaHeadBuffers {
  /** [B, A] */
  dlogits: Tensor;
  /** [B, 2C] ×2 */
  da1: Tensor;
  da1Pre: Tensor;
  /** [B, C] ×2 */
  dz: Tensor;
  dc: Tensor;
}

/** Device tensors of one batch shape: inputs, activations, scratch and backward buffers. */
export interface Activations {
  key: string;
  bd: BatchDims;
  train: boolean;
  // inputs
  feats: Tensor; // [B·R, F]
  visPeIn: Tensor; // [B·R, G]
  ids: Tensor; // [B, L] int32
  seg: Tensor; // [B, L] int32
  pos: Tensor | null; // [B, L] int32 explicit position ids
  mask: Tensor; // [B, L, L] additive
  maskHost: Float32Array | Float64Array;
  maskedPos: Tensor | null; // [B, P] int32
  maskedIds: Tensor | null; // [B·P] int32
  maskedW: Tensor | null; // [B·P]
  answers: Tensor | null; // [B, A]
  // region branches
  regions: RegionBuffers;
  r2D: Tensor; // [B·R, C] dropout (= r2 in eval)
  pD: Tensor; // [B·R, C]
  dr1: Tensor; // [B·R, FH] backward scratch (training only)
  // embeddings: emb [B·L, C] sum, ln, out = h₀ after dropout (= ln in eval)
  emb: EmbeddingBuffers;
  layers: LayerActivations[];
  sc: LayerScratch;
  seeds: number[]; // vis, visPe, embeddings
  // heads
  pooledPre: Tensor; // [B, C]
  pooled: Tensor;
  mlm: MlmActivations | null;
  vqa: VqaActivations | null;
  loss: Tensor; // [1]
}

/** Allocate the tensors of one batch shape (`train`: with the training forward's and backward's buffers). */
export function allocateActivations(
  be: Backend,
  dims: Dims,
  task: Task,
  bd: BatchDims,
  key: string,
  train: boolean,
  half: HalfBackend | null = null,
): Activations {
  const { B, L, P } = bd;
  const { C, NH, I, V, R, F, FH, G, A, NL } = dims;
  const f = (...shape: number[]) => be.alloc(shape);
  const i32 = (...shape: number[]) => be.alloc(shape, "int32");
  const BL = B * L, BR = B * R;
  const layers: LayerActivations[] = [];
  for (let l = 0; l < NL; l++) {
    const probs = f(B, NH, L, L);
    layers.push({
      qkv: f(BL, 3 * C),
      probs,
      probsD: train ? f(B, NH, L, L) : probs,
      ctx: f(BL, C),
      res1: f(BL, C),
      mean1: f(BL),
      rstd1: f(BL),
      attnOut: f(BL, C),
      ffnGrad: f(BL, I),
      // --fp16: float16, written by the FFN-in GEMM's GELU epilogue, read by the FFN-out GEMMs (forward A, dW B)
      ffnAct: half ? half.allocF16([BL, I]) : f(BL, I),
      res2: f(BL, C),
      mean2: f(BL),
      rstd2: f(BL),
      out: f(BL, C),
      seeds: [0, 0, 0],
    });
  }
  const sc: LayerScratch = {
    scores: f(B, NH, L, L),
    c1: f(BL, C),
    c2: f(BL, C),
    c3: f(BL, C),
    c4: f(BL, C),
    i1: f(BL, I),
    i2: f(BL, I),
    dqkv: f(BL, 3 * C),
    s1: f(B, NH, L, L),
    s2: f(B, NH, L, L),
  };
  const hasMlm = P > 0;
  const mlm: MlmActivations | null = hasMlm
    ? {
      hm: f(B * P, C),
      t1: f(B * P, C),
      t2: f(B * P, C),
      ...(train ? { t1Grad: f(B * P, C) } : {}),
      t3: f(B * P, C),
      mean: f(B * P),
      rstd: f(B * P),
      logits: f(B * P, V),
      ce: f(B * P),
      coef: f(B * P),
      dlogits: f(B * P, V),
      dt3: f(B * P, C),
      dt2: f(B * P, C),
      dt1: f(B * P, C),
      dhm: f(B * P, C),
    }
    : null;
  let vqa: VqaActivations | null = null;
  if (task === "vqa2") {
    const sepIdx = i32(B, 1);
    be.write(sepIdx, new Array(B).fill(R + 1));
    vqa = {
      clsIdx: i32(B, 1),
      sepIdx,
      c0: f(B, C),
      c1: f(B, C),
      z: f(B, C),
      a1Pre: f(B, 2 * C),
      a1: f(B, 2 * C),
      logits: f(B, A),
      dlogits: f(B, A),
      da1: f(B, 2 * C),
      da1Pre: f(B, 2 * C),
      dz: f(B, C),
      dc: f(B, C),
    };
  }
  const r2 = f(BR, C), p = f(BR, C), ln = f(BL, C);
  return {
    key,
    bd,
    train,
    feats: f(BR, F),
    visPeIn: f(BR, G),
    ids: i32(B, L),
    seg: i32(B, L),
    pos: bd.hasPositions ? i32(B, L) : null,
    mask: f(B, L, L),
    maskHost: be.floatType === "float64" ? new Float64Array(B * L * L) : new Float32Array(B * L * L),
    maskedPos: hasMlm ? i32(B, P) : null,
    maskedIds: hasMlm ? i32(B * P) : null,
    maskedW: hasMlm ? f(B * P) : null,
    answers: bd.hasAnswers && vqa ? f(B, A) : null,
    regions: { r1Pre: f(BR, FH), r1: f(BR, FH), r2Pre: f(BR, C), r2, pPre: f(BR, C), p },
    r2D: train ? f(BR, C) : r2,
    pD: train ? f(BR, C) : p,
    dr1: train ? f(BR, FH) : f(0),
    emb: { emb: f(BL, C), mean: f(BL), rstd: f(BL), ln, out: train ? f(BL, C) : ln },
    layers,
    sc,
    seeds: [0, 0, 0],
    pooledPre: f(B, C),
    pooled: f(B, C),
    mlm,
    vqa,
    loss: f(1),
  };
}

/** Every tensor of an activation set, once each (to free them). */
export function activationTensors(a: Activations): Tensor[] {
  const out: Tensor[] = [];
  const visit = (v: unknown) => {
    if (v && typeof v === "object" && !ArrayBuffer.isView(v)) {
      if ("shape" in v && "dtype" in v && "size" in v) out.push(v as Tensor);
      else for (const x of Object.values(v)) visit(x);
    }
  };
  visit(a);
  return [...new Set(out)];
}
