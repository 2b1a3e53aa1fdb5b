/**
 * The VLP model (BertForPreTrainingLossMask): region branches, embeddings, the BERT encoder, the pooler,
 * the masked-LM head (decoder tied to the word embeddings) and the VQA head, with hand-written backward.
 *
 * Forward (one batch, glossary letters):
 *
 *   vis   = dropout(relu(relu(feats·W0ᵀ + b0)·W2ᵀ + b2))       [B, R, C]   vis_embed
 *   visPe = dropout(relu(visPe·Wpeᵀ + bpe))                     [B, R, C]   vis_pe_embed
 *   h₀    = dropout(LN(embed(ids, segments, vis, visPe)))       [B, L, C]   embeddings (regions in slots 1..R)
 *   hₗ₊₁  = layer(hₗ, mask)                                     [B, L, C]   ×NL, mask (1 − m)·(−10000)
 *   MLM:  logits = LN(gelu(gather(h, maskedPos)·Wtᵀ + bt))·wteᵀ + bias    [B·P, V]
 *         loss   = Σ_kept Σₚ CE·w / (Σ_kept w + 1e-5)                   (drop-worst, label smoothing)
 *   VQA:  logits = relu((h[:,0] ⊙ h[:,R+1])·Wa0ᵀ + ba0)·Wa2ᵀ + ba2        [B, A]
 *         loss   = Σ BCE-with-logits / B
 *   pooled = tanh(h[:,0]·Wpᵀ + bp)                                         [B, C]   (outputs only)
 *
 * The backward is the same list reversed. Activation buffers are allocated once per batch shape and
 * reused; gradients accumulate into one flat buffer until {@linkcode VlpModel.zeroGrad}.
 *
 * @example Usage
 * ```ts
 * import { ReferenceBackend, parseConfig, VlpModel } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const config = parseConfig({ vocabSize: 120, hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16,
 *   regions: 3, regionFeatureSize: 6, regionHiddenSize: 6, regionGeometrySize: 5, maxPositions: 16 });
 * const model = new VlpModel({ config, backend: new ReferenceBackend(), seed: 1 });
 * const B = 1, L = 7, R = 3;
 * const batch = {
 *   regionFeats: new Float32Array(B * R * 6).fill(0.5), visPe: new Float32Array(B * R * 5).fill(0.1),
 *   inputIds: [101, 100, 100, 100, 102, 7, 102], segmentIds: [4, 4, 4, 4, 4, 5, 5],
 *   attentionMask: new Float32Array(B * L * L).fill(1),
 *   maskedPos: [5], maskedIds: [7], maskedWeights: [1],
 * };
 * model.zeroGrad();
 * const loss = await model.readScalar(model.forwardBackward(batch));
 * assert.ok(loss > 0);
 * ```
 *
 * @module
 */
import type { Backend, Tensor } from "./backend.ts";
import { bertBaseConfig, type Dims, dims, type VlpConfig } from "./config.ts";
import {
  initialValues,
  type ModelTensors,
  modelTensors,
  namedViews,
  type ParameterTable,
  parameterTable,
  type Task,
} from "./params.ts";
import { type Batch, type BatchDims, batchDims } from "./batch.ts";
import {
  type AttentionDims,
  type DropoutPlan,
  encoderLayerBackward,
  encoderLayerForward,
  type LayerActivations,
  type LayerScratch,
  linear,
  linearBackward,
} from "./layers.ts";
import { additiveMask } from "./kernels/softmax.ts";
import { Rng } from "./rng.ts";
import { ReferenceBackend } from "./backends/reference.ts";

/** Options of the {@linkcode VlpModel} constructor. */
export interface VlpModelOptions {
  /** default: {@linkcode bertBaseConfig} (VLP's model) */
  config?: VlpConfig;
  /** default "img2txt" */
  task?: Task;
  /** default: a float32 {@linkcode ReferenceBackend} */
  backend?: Backend;
  /** Seed of the parameter init and of the dropout RNG (default 0). */
  seed?: number;
  /** Skip the random init (parameters stay zero; for loading a checkpoint right after). */
  noInit?: boolean;
}

/** Options of a loss computation. */
export interface LossOptions {
  /** Dropout as in training (default: true for forwardBackward, false for loss). */
  dropout?: boolean;
  /** Masked-LM drop-worst ratio r: keep the ⌊B·(1 − r)⌋ examples with the lowest loss (default 0). */
  dropWorstRatio?: number;
  /** Masked-LM label smoothing ε (default 0: plain cross entropy). */
  labelSmoothing?: number;
  /** Multiply the gradients by this (e.g. 1/accumulation steps; default 1). */
  lossScale?: number;
  /**
   * Masked-LM: divide Σ CE·w by this instead of (Σ w + 1e-5). With weights = reward·mask and normalizer =
   * Σ mask, the masked-LM loss becomes SCST's reward-weighted −Σ log p·reward·mask / Σ mask.
   */
  normalizer?: number;
}

/** Tensors of an evaluation forward (owned by the model; valid until the next call with the same shapes). */
export interface ForwardOutputs {
  /** [B, R, C] vis_embed output */
  visEmbed: Tensor;
  /** [B, R, C] vis_pe_embed output */
  visPeEmbed: Tensor;
  /** [B, L, C] embedding layer output */
  embeddingOutput: Tensor;
  /** [B, L, C] last encoder layer output */
  sequenceOutput: Tensor;
  /** [B, C] pooler output */
  pooled: Tensor;
  /** [B, P, V] LM scores at the masked positions (when the batch has maskedPos) */
  mlmScores?: Tensor;
  /** [B, A] VQA logits (vqa2 task) */
  vqaLogits?: Tensor;
}

/** Device tensors of one batch shape: inputs, activations, scratch and backward buffers. */
interface Activations {
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
  clsIdx: Tensor; // [B, 1] int32 = 0
  sepIdx: Tensor; // [B, 1] int32 = R + 1
  // region branches
  r1Pre: Tensor; // [B·R, FH]
  r1: Tensor; // [B·R, FH] relu
  dr1: Tensor; // [B·R, FH] backward scratch (training only)
  r2Pre: Tensor; // [B·R, C]
  r2: Tensor; // [B·R, C] relu
  r2D: Tensor; // [B·R, C] dropout (= r2 in eval)
  pPre: Tensor; // [B·R, C]
  p: Tensor; // [B·R, C] relu
  pD: Tensor; // [B·R, C]
  // embeddings
  emb: Tensor; // [B·L, C] sum
  embMean: Tensor;
  embRstd: Tensor;
  embLn: Tensor; // [B·L, C]
  h0: Tensor; // [B·L, C] after dropout (= embLn in eval)
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

interface MlmActivations {
  hm: Tensor; // [B·P, C]
  t1: Tensor; // [B·P, C]
  t2: Tensor; // gelu
  t3: Tensor; // LN
  mean: Tensor;
  rstd: Tensor;
  logits: Tensor; // [B·P, V]
  ce: Tensor; // [B·P]
  coef: Tensor; // [B·P]
  // backward
  dlogits: Tensor;
  dt3: Tensor;
  dt2: Tensor;
  dt1: Tensor;
  dhm: Tensor;
}

interface VqaActivations {
  c0: Tensor; // [B, C]
  c1: Tensor; // [B, C]
  z: Tensor; // [B, C]
  a1Pre: Tensor; // [B, 2C]
  a1: Tensor; // [B, 2C]
  logits: Tensor; // [B, A]
  // backward
  dlogits: Tensor;
  da1: Tensor;
  da1Pre: Tensor;
  dz: Tensor;
  dc: Tensor; // [B, C]
}

/** The VLP transformer with its heads, on one backend. */
export class VlpModel {
  /** The configuration. */
  readonly config: VlpConfig;
  /** Which head: img2txt (MLM) or vqa2. */
  readonly task: Task;
  /** Where the tensors live and the operations run. */
  readonly backend: Backend;
  /** Every parameter: VLP key, shape, offset, init, decay group. */
  readonly table: ParameterTable;
  /** [table.total] every parameter, flat. */
  readonly params: Tensor;
  /** Structured views of {@linkcode VlpModel.params}. */
  readonly weights: ModelTensors;
  /** RNG of dropout seeds (its state can be saved with getState/setState). */
  readonly rng: Rng;
  /** The glossary letters of the configuration. */
  readonly dims: Dims;
  #grads: Tensor | null = null;
  #gradViews: ModelTensors | null = null;
  #acts = new Map<"eval" | "train", Activations>();

  /** A model with seeded random parameters (or zeros with `noInit`); see {@linkcode createModel} for checkpoints. */
  constructor(opts: VlpModelOptions = {}) {
    this.config = opts.config ?? bertBaseConfig;
    this.task = opts.task ?? "img2txt";
    if (this.task !== "img2txt" && this.task !== "vqa2") {
      throw new RangeError(`Cannot create model: task "${this.task}" is not "img2txt" or "vqa2"`);
    }
    this.backend = opts.backend ?? new ReferenceBackend();
    this.dims = dims(this.config);
    this.table = parameterTable(this.config, this.task);
    this.params = this.backend.alloc([this.table.total]);
    this.weights = modelTensors(this.backend, this.table, this.params, this.config);
    const seed = opts.seed ?? 0;
    if (!opts.noInit) {
      this.backend.write(this.params, initialValues(this.table, new Rng(seed), this.backend.floatType));
    }
    this.rng = new Rng((seed ^ 0x5eed) >>> 0);
  }

  /** [table.total] gradients, flat (allocated, zero, on first use). */
  get grads(): Tensor {
    if (!this.#grads) {
      this.#grads = this.backend.alloc([this.table.total]);
      this.#gradViews = modelTensors(this.backend, this.table, this.#grads, this.config);
    }
    return this.#grads;
  }

  /** Structured views of {@linkcode VlpModel.grads}. */
  get gradTensors(): ModelTensors {
    void this.grads;
    return this.#gradViews!;
  }

  /** Views of every parameter keyed by VLP state_dict key. */
  parameterViews(): Map<string, Tensor> {
    return namedViews(this.backend, this.table, this.params);
  }

  /** Views of every gradient keyed by VLP state_dict key. */
  gradientViews(): Map<string, Tensor> {
    return namedViews(this.backend, this.table, this.grads);
  }

  /** Set every gradient to zero. */
  zeroGrad(): void {
    this.backend.fill(this.grads, 0);
  }

  /**
   * Free the activation buffers (both the evaluation and the training set); the next call allocates them
   * again. Tensors returned by earlier calls become invalid.
   */
  releaseBuffers(): void {
    for (const a of this.#acts.values()) this.#freeActivations(a);
    this.#acts.clear();
  }

  /** Read a one-element tensor (a loss) to the host. */
  async readScalar(t: Tensor): Promise<number> {
    return (await this.backend.read(t))[0];
  }

  /** Evaluation forward (no dropout): every intermediate output the parity checks and VQA inference need. */
  forward(batch: Batch): ForwardOutputs {
    const a = this.#prepare(batch, "eval");
    this.#forwardBody(a, null, { pooler: true, mlm: a.mlm !== null, vqa: a.vqa !== null });
    const { B, P } = a.bd;
    const { C, R, V, A } = this.dims;
    const be = this.backend;
    return {
      visEmbed: be.view(a.r2, 0, [B, R, C]),
      visPeEmbed: be.view(a.p, 0, [B, R, C]),
      embeddingOutput: be.view(a.embLn, 0, [B, a.bd.L, C]),
      sequenceOutput: be.view(this.#lastHidden(a), 0, [B, a.bd.L, C]),
      pooled: a.pooled,
      ...(a.mlm ? { mlmScores: be.view(a.mlm.logits, 0, [B, P, V]) } : {}),
      ...(a.vqa ? { vqaLogits: be.view(a.vqa.logits, 0, [B, A]) } : {}),
    };
  }

  /**
   * The training loss of a batch without backward: the masked-LM loss (img2txt) or the VQA loss (vqa2).
   * Returns a [1] tensor (read it with {@linkcode VlpModel.readScalar}).
   */
  loss(batch: Batch, opts: LossOptions = {}): Tensor {
    const train = opts.dropout ?? false;
    const a = this.#prepare(batch, train ? "train" : "eval");
    this.#checkLossInputs(a);
    this.#forwardBody(a, train ? this.#dropoutPlan() : null, {
      pooler: false,
      mlm: this.task === "img2txt",
      vqa: this.task === "vqa2",
    });
    this.#lossForward(a, opts);
    return a.loss;
  }

  /**
   * Forward, loss and backward of a batch: gradients accumulate (+=) into {@linkcode VlpModel.grads}.
   * Dropout is on unless `opts.dropout === false`. Returns the [1] loss tensor.
   */
  forwardBackward(batch: Batch, opts: LossOptions = {}): Tensor {
    const train = opts.dropout ?? true;
    const a = this.#prepare(batch, "train");
    this.#checkLossInputs(a);
    const drop = train ? this.#dropoutPlan() : null;
    const mlm = this.task === "img2txt";
    this.#forwardBody(a, drop, { pooler: false, mlm, vqa: !mlm });
    this.#lossForward(a, opts);
    this.#backwardBody(a, drop !== null, opts);
    return a.loss;
  }

  // ---- internals ----------------------------------------------------------------------------------------

  #dropoutPlan(): DropoutPlan {
    const rng = this.rng;
    return {
      hidden: this.config.hiddenDropout,
      attention: this.config.attentionDropout,
      seed: () => rng.nextU32(),
    };
  }

  #checkLossInputs(a: Activations): void {
    if (this.task === "img2txt" && !a.mlm) {
      throw new TypeError(
        "Cannot compute the masked-LM loss: the batch has no maskedPos/maskedIds/maskedWeights",
      );
    }
    if (this.task === "vqa2" && !a.answers) {
      throw new TypeError("Cannot compute the VQA loss: the batch has no answerTargets");
    }
  }

  #lastHidden(a: Activations): Tensor {
    return a.layers.length ? a.layers[a.layers.length - 1].out : a.embLn;
  }

  /** Allocate (once per shape) and upload the batch. */
  #prepare(batch: Batch, set: "eval" | "train"): Activations {
    const bd = batchDims(batch, this.config);
    const key = `${bd.B},${bd.L},${bd.P},${bd.hasAnswers},${bd.hasPositions}`;
    let a = this.#acts.get(set);
    if (!a || a.key !== key) {
      if (a) this.#freeActivations(a);
      a = this.#allocate(bd, key, set === "train");
      this.#acts.set(set, a);
    }
    const be = this.backend;
    be.write(a.feats, batch.regionFeats);
    be.write(a.visPeIn, batch.visPe);
    be.write(a.ids, batch.inputIds);
    be.write(a.seg, batch.segmentIds);
    if (a.pos) be.write(a.pos, batch.positionIds!);
    be.write(a.mask, additiveMask(batch.attentionMask, a.maskHost));
    if (a.maskedPos) {
      be.write(a.maskedPos, batch.maskedPos!);
      be.write(a.maskedIds!, batch.maskedIds!);
      be.write(a.maskedW!, batch.maskedWeights!);
    }
    if (a.answers) be.write(a.answers, batch.answerTargets!);
    return a;
  }

  #freeActivations(a: Activations): void {
    for (const t of collectTensors(a)) this.backend.free(t);
  }

  #allocate(bd: BatchDims, key: string, train: boolean): Activations {
    const be = this.backend;
    const { B, L, P } = bd;
    const { C, NH, I, V, R, F, FH, G, A, NL } = this.dims;
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
        ffnAct: f(BL, I),
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
    const vqa: VqaActivations | null = this.task === "vqa2"
      ? {
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
      }
      : null;
    const r2 = f(BR, C), p = f(BR, C), embLn = f(BL, C);
    const clsIdx = i32(B, 1), sepIdx = i32(B, 1);
    be.write(sepIdx, new Array(B).fill(R + 1));
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
      clsIdx,
      sepIdx,
      r1Pre: f(BR, FH),
      r1: f(BR, FH),
      dr1: train ? f(BR, FH) : f(0),
      r2Pre: f(BR, C),
      r2,
      r2D: train ? f(BR, C) : r2,
      pPre: f(BR, C),
      p,
      pD: train ? f(BR, C) : p,
      emb: f(BL, C),
      embMean: f(BL),
      embRstd: f(BL),
      embLn,
      h0: train ? f(BL, C) : embLn,
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

  #forwardBody(
    a: Activations,
    drop: DropoutPlan | null,
    want: { pooler: boolean; mlm: boolean; vqa: boolean },
  ): void {
    const be = this.backend, w = this.weights, cfg = this.config;
    const { B, L } = a.bd;
    const { C, NH, HS, R } = this.dims;
    const eps = cfg.layerNormEps;
    if (drop) a.seeds = [drop.seed(), drop.seed(), drop.seed()];
    // region branches
    linear(be, a.feats, w.vis0W, w.vis0B, a.r1Pre);
    be.relu({ x: a.r1Pre, out: a.r1 });
    linear(be, a.r1, w.vis2W, w.vis2B, a.r2Pre);
    be.relu({ x: a.r2Pre, out: a.r2 });
    if (drop) be.dropout({ x: a.r2, out: a.r2D, p: drop.hidden, seed: a.seeds[0] });
    linear(be, a.visPeIn, w.visPeW, w.visPeB, a.pPre);
    be.relu({ x: a.pPre, out: a.p });
    if (drop) be.dropout({ x: a.p, out: a.pD, p: drop.hidden, seed: a.seeds[1] });
    // embeddings
    be.embedding({
      ids: a.ids,
      segmentIds: a.seg,
      wte: w.wte,
      wpe: w.wpe,
      wtt: w.wtt,
      posOffset: 0,
      ...(a.pos ? { positionIds: a.pos } : {}),
      regions: be.view(drop ? a.r2D : a.r2, 0, [B, R, C]),
      regionPos: be.view(drop ? a.pD : a.p, 0, [B, R, C]),
      out: be.view(a.emb, 0, [B, L, C]),
    });
    be.layernorm({
      x: a.emb,
      weight: w.embLnW,
      bias: w.embLnB,
      out: a.embLn,
      mean: a.embMean,
      rstd: a.embRstd,
      eps,
    });
    if (drop) be.dropout({ x: a.embLn, out: a.h0, p: drop.hidden, seed: a.seeds[2] });
    // encoder
    const d: AttentionDims = { S: B, L, NH, HS };
    let h = drop ? a.h0 : a.embLn;
    for (let l = 0; l < a.layers.length; l++) {
      encoderLayerForward(be, w.layers[l], h, a.mask, a.layers[l], a.sc, d, eps, drop, a.train);
      h = a.layers[l].out;
    }
    // heads
    if (want.pooler) {
      // pooled = tanh(h[:, 0]·Wpᵀ + bp): rows of h with stride L·C
      be.matmul({
        a: h,
        b: w.poolerW,
        c: a.pooledPre,
        m: B,
        n: C,
        k: C,
        transB: true,
        lda: L * C,
        bias: w.poolerB,
      });
      be.tanh({ x: a.pooledPre, out: a.pooled });
    }
    if (want.mlm && a.mlm) this.#mlmForward(a, h);
    if (want.vqa && a.vqa) this.#vqaForward(a, h);
  }

  #mlmForward(a: Activations, h: Tensor): void {
    const be = this.backend, w = this.weights, m = a.mlm!;
    const { B, L } = a.bd;
    const { C } = this.dims;
    be.gatherRows({ x: be.view(h, 0, [B, L, C]), index: a.maskedPos!, out: m.hm });
    linear(be, m.hm, w.lmDenseW, w.lmDenseB, m.t1);
    be.gelu({ x: m.t1, out: m.t2 });
    be.layernorm({
      x: m.t2,
      weight: w.lmLnW,
      bias: w.lmLnB,
      out: m.t3,
      mean: m.mean,
      rstd: m.rstd,
      eps: this.config.layerNormEps,
    });
    linear(be, m.t3, w.wte, w.lmBias, m.logits); // decoder tied to the word embeddings
  }

  #vqaForward(a: Activations, h: Tensor): void {
    const be = this.backend, w = this.weights, q = a.vqa!;
    const { B, L } = a.bd;
    const { C } = this.dims;
    const h3 = be.view(h, 0, [B, L, C]);
    be.gatherRows({ x: h3, index: a.clsIdx, out: q.c0 });
    be.gatherRows({ x: h3, index: a.sepIdx, out: q.c1 });
    be.mul({ a: q.c0, b: q.c1, out: q.z });
    linear(be, q.z, w.ans0W!, w.ans0B!, q.a1Pre);
    be.relu({ x: q.a1Pre, out: q.a1 });
    linear(be, q.a1, w.ans2W!, w.ans2B!, q.logits);
  }

  #lossForward(a: Activations, opts: LossOptions): void {
    const be = this.backend;
    const scale = opts.lossScale ?? 1;
    if (this.task === "img2txt") {
      const m = a.mlm!;
      const ratio = opts.dropWorstRatio ?? 0, eps = opts.labelSmoothing ?? 0;
      if (!(ratio >= 0 && ratio < 1)) {
        throw new RangeError(`Cannot compute loss: dropWorstRatio ${ratio} is not in [0, 1)`);
      }
      if (!(eps >= 0 && eps <= 1)) {
        throw new RangeError(`Cannot compute loss: labelSmoothing ${eps} is not in [0, 1]`);
      }
      be.crossEntropy({ logits: m.logits, targets: a.maskedIds!, losses: m.ce, smoothing: eps });
      be.maskedLossReduce({
        losses: be.view(m.ce, 0, [a.bd.B, a.bd.P]),
        weights: be.view(a.maskedW!, 0, [a.bd.B, a.bd.P]),
        out: a.loss,
        coef: be.view(m.coef, 0, [a.bd.B, a.bd.P]),
        dropWorstRatio: ratio,
        scale,
        ...(opts.normalizer !== undefined ? { normalizer: opts.normalizer } : {}),
      });
    } else {
      const q = a.vqa!;
      be.bceWithLogits({ logits: q.logits, targets: a.answers!, out: a.loss });
    }
  }

  #backwardBody(a: Activations, dropout: boolean, opts: LossOptions): void {
    const be = this.backend, w = this.weights, g = this.gradTensors, cfg = this.config, sc = a.sc;
    const { B, L } = a.bd;
    const { C, NH, HS, R } = this.dims;
    const drop = dropout ? { hidden: cfg.hiddenDropout, attention: cfg.attentionDropout } : null;
    // dh [B·L, C]: gradient of the last hidden state, built by the heads' scatter-adds (c1 is forward-only
    // scratch, free during the backward)
    const dh = sc.c1;
    be.fill(dh, 0);
    if (this.task === "img2txt") this.#mlmBackward(a, dh, opts);
    else this.#vqaBackward(a, dh, opts);
    // encoder, last layer first; dh becomes d(layer input)
    const d: AttentionDims = { S: B, L, NH, HS };
    for (let l = a.layers.length - 1; l >= 0; l--) {
      const x = l > 0 ? a.layers[l - 1].out : drop ? a.h0 : a.embLn;
      encoderLayerBackward(be, w.layers[l], g.layers[l], x, a.layers[l], sc, dh, d, drop);
    }
    // embeddings: h0 = dropout(LN(emb))
    if (drop) be.dropoutBackward({ dout: dh, dx: sc.c3, p: drop.hidden, seed: a.seeds[2] });
    be.layernormBackward({
      dout: drop ? sc.c3 : dh,
      x: a.emb,
      mean: a.embMean,
      rstd: a.embRstd,
      weight: w.embLnW,
      dx: sc.c2,
      dweight: g.embLnW,
      dbias: g.embLnB,
    });
    const BR = B * R;
    const dvis = be.view(sc.c4, 0, [B, R, C]), dpe = be.view(sc.dqkv, 0, [B, R, C]);
    be.embeddingBackward({
      ids: a.ids,
      segmentIds: a.seg,
      posOffset: 0,
      ...(a.pos ? { positionIds: a.pos } : {}),
      dout: be.view(sc.c2, 0, [B, L, C]),
      dwte: g.wte,
      dwpe: g.wpe,
      dwtt: g.wtt,
      dregions: dvis,
      dregionPos: dpe,
    });
    const t1 = be.view(sc.c3, 0, [BR, C]), t2 = be.view(sc.c1, 0, [BR, C]);
    // region geometry branch: pD = dropout(relu(visPe·Wpeᵀ + bpe)); no gradient for the inputs
    if (drop) be.dropoutBackward({ dout: dpe, dx: t1, p: drop.hidden, seed: a.seeds[1] });
    be.reluBackward({ y: a.p, dout: drop ? t1 : dpe, dx: t2 });
    linearBackward(be, { x: a.visPeIn, w: w.visPeW, dy: t2, dx: null, dw: g.visPeW, db: g.visPeB });
    // region feature branch: r2D = dropout(relu(relu(feats·W0ᵀ + b0)·W2ᵀ + b2)); r1Pre is free scratch now
    if (drop) be.dropoutBackward({ dout: dvis, dx: t1, p: drop.hidden, seed: a.seeds[0] });
    be.reluBackward({ y: a.r2, dout: drop ? t1 : dvis, dx: t2 });
    linearBackward(be, { x: a.r1, w: w.vis2W, dy: t2, dx: a.r1Pre, dw: g.vis2W, db: g.vis2B });
    be.reluBackward({ y: a.r1, dout: a.r1Pre, dx: a.dr1 });
    linearBackward(be, { x: a.feats, w: w.vis0W, dy: a.dr1, dx: null, dw: g.vis0W, db: g.vis0B });
  }

  #mlmBackward(a: Activations, dh: Tensor, opts: LossOptions): void {
    const be = this.backend, w = this.weights, g = this.gradTensors, m = a.mlm!;
    const { B, L } = a.bd;
    const { C } = this.dims;
    be.crossEntropyBackward({
      logits: m.logits,
      targets: a.maskedIds!,
      dlosses: m.coef,
      dlogits: m.dlogits,
      smoothing: opts.labelSmoothing ?? 0,
    });
    linearBackward(be, { x: m.t3, w: w.wte, dy: m.dlogits, dx: m.dt3, dw: g.wte, db: g.lmBias });
    be.layernormBackward({
      dout: m.dt3,
      x: m.t2,
      mean: m.mean,
      rstd: m.rstd,
      weight: w.lmLnW,
      dx: m.dt2,
      dweight: g.lmLnW,
      dbias: g.lmLnB,
    });
    be.geluBackward({ x: m.t1, dout: m.dt2, dx: m.dt1 });
    linearBackward(be, { x: m.hm, w: w.lmDenseW, dy: m.dt1, dx: m.dhm, dw: g.lmDenseW, db: g.lmDenseB });
    be.scatterAddRows({ dout: m.dhm, index: a.maskedPos!, dx: be.view(dh, 0, [B, L, C]) });
  }

  #vqaBackward(a: Activations, dh: Tensor, opts: LossOptions): void {
    const be = this.backend, w = this.weights, g = this.gradTensors, q = a.vqa!;
    const { B, L } = a.bd;
    const { C } = this.dims;
    be.bceWithLogitsBackward({
      logits: q.logits,
      targets: a.answers!,
      dlogits: q.dlogits,
      scale: opts.lossScale ?? 1,
    });
    linearBackward(be, { x: q.a1, w: w.ans2W!, dy: q.dlogits, dx: q.da1, dw: g.ans2W!, db: g.ans2B! });
    be.reluBackward({ y: q.a1, dout: q.da1, dx: q.da1Pre });
    linearBackward(be, { x: q.z, w: w.ans0W!, dy: q.da1Pre, dx: q.dz, dw: g.ans0W!, db: g.ans0B! });
    const dh3 = be.view(dh, 0, [B, L, C]);
    be.mul({ a: q.dz, b: q.c1, out: q.dc });
    be.scatterAddRows({ dout: q.dc, index: a.clsIdx, dx: dh3 });
    be.mul({ a: q.dz, b: q.c0, out: q.dc });
    be.scatterAddRows({ dout: q.dc, index: a.sepIdx, dx: dh3 });
  }
}

/** Every tensor of an activation set (to free them). */
function collectTensors(a: Activations): Tensor[] {
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
