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
 * Each line is a layer function (embeddings.ts, layers.ts, heads.ts), the same ones the incremental decoder
 * calls; the backward is the same list reversed. Activation buffers (activations.ts) are allocated once per
 * batch shape and reused; gradients accumulate into one flat buffer until {@linkcode VlpModel.zeroGrad}.
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
import { type Batch, batchDims } from "./batch.ts";
import {
  type AttentionDims,
  type DropoutPlan,
  type DropoutSite,
  encoderLayerBackward,
  encoderLayerForward,
} from "./layers.ts";
import {
  embeddingsBackward,
  embeddingsForward,
  regionBranchesBackward,
  regionBranchesForward,
  type RegionDropout,
} from "./embeddings.ts";
import { mlmHeadBackward, mlmHeadForward, poolerForward, vqaHeadBackward, vqaHeadForward } from "./heads.ts";
import { type Activations, activationTensors, allocateActivations } from "./activations.ts";
import { additiveMask } from "./kernels/softmax.ts";
import { Rng, SEED_SALTS } from "./rng.ts";
import { ReferenceBackend } from "./backends/reference.ts";
import { type HalfBackend, halfBackend, halfModelTensors } from "./half.ts";

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
  /**
   * Mixed precision (`--fp16`, half.ts): the GEMMs read a float16 copy of the Linear weights, refreshed from
   * the float32 parameters at the start of every forward. Needs a backend with float16 tensors (webgpu on
   * an adapter with shader-f16); others refuse it with an error saying so.
   */
  fp16?: boolean;
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
   * Called in {@linkcode VlpModel.forwardBackward} right after encoder layer `layer`'s backward (last layer
   * first): from then on this call adds nothing to that layer's parameter gradients (data-parallel training
   * starts their all-reduce while the backward goes on).
   */
  onLayerGradients?: (layer: number) => void;
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
  /**
   * Structured views of {@linkcode VlpModel.params} (with `fp16`, the Linear weight matrices are views of
   * the float16 copy instead; half.ts).
   */
  readonly weights: ModelTensors;
  /** Whether the GEMMs read float16 weights (the `fp16` option). */
  readonly fp16: boolean;
  /** [table.total] the float16 copy of params (fp16 only). */
  readonly #params16: Tensor | null = null;
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
    this.fp16 = opts.fp16 ?? false;
    if (this.fp16) {
      const hb = halfBackend(this.backend);
      this.#params16 = hb.allocF16([this.table.total]);
      this.weights = halfModelTensors(hb, this.table, this.params, this.#params16, this.config);
    } else {
      this.weights = modelTensors(this.backend, this.table, this.params, this.config);
    }
    const seed = opts.seed ?? 0;
    if (!opts.noInit) {
      this.backend.write(this.params, initialValues(this.table, new Rng(seed), this.backend.floatType));
    }
    this.rng = new Rng((seed ^ SEED_SALTS.dropout) >>> 0);
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

  /**
   * With `fp16`: copy the float32 parameters into the float16 weights the GEMMs read (every forward does
   * this first; the incremental decoder calls it at `start`). A no-op otherwise.
   */
  syncHalfWeights(): void {
    if (this.#params16) (this.backend as HalfBackend).castToF16(this.params, this.#params16);
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
      visEmbed: be.view(a.regions.r2, 0, [B, R, C]),
      visPeEmbed: be.view(a.regions.p, 0, [B, R, C]),
      embeddingOutput: be.view(a.emb.ln, 0, [B, a.bd.L, C]),
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
    // fused backends may hold back the parameter gradients' final sums until the end of the backward
    this.backend.fused?.holdGradientSums();
    try {
      this.#backwardBody(a, drop !== null, opts);
    } finally {
      this.backend.fused?.finishGradientSums();
    }
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
    return a.layers.length ? a.layers[a.layers.length - 1].out : a.emb.ln;
  }

  /** Allocate (once per shape) and upload the batch. */
  #prepare(batch: Batch, set: "eval" | "train"): Activations {
    this.syncHalfWeights();
    const bd = batchDims(batch, this.config);
    const key = `${bd.B},${bd.L},${bd.P},${bd.hasAnswers},${bd.hasPositions}`;
    let a = this.#acts.get(set);
    if (!a || a.key !== key) {
      if (a) this.#freeActivations(a);
      const half = this.fp16 ? halfBackend(this.backend) : null;
      a = allocateActivations(this.backend, this.dims, this.task, bd, key, set === "train", half);
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
    for (const t of activationTensors(a)) this.backend.free(t);
  }

  #forwardBody(
    a: Activations,
    drop: DropoutPlan | null,
    want: { pooler: boolean; mlm: boolean; vqa: boolean },
  ): void {
    const be = this.backend, w = this.weights, eps = this.config.layerNormEps;
    const { B, L } = a.bd;
    const { C, NH, HS, R } = this.dims;
    if (drop) a.seeds = [drop.seed(), drop.seed(), drop.seed()];
    const regionDrop: RegionDropout | null = drop
      ? { p: drop.hidden, seeds: [a.seeds[0], a.seeds[1]], vis: a.r2D, pe: a.pD }
      : null;
    const r = regionBranchesForward(be, w, { feats: a.feats, visPe: a.visPeIn }, a.regions, regionDrop);
    let h = embeddingsForward(
      be,
      w,
      {
        ids: a.ids,
        segmentIds: a.seg,
        posOffset: 0,
        ...(a.pos ? { positionIds: a.pos } : {}),
        regions: be.view(r.vis, 0, [B, R, C]),
        regionPos: be.view(r.pe, 0, [B, R, C]),
      },
      a.emb,
      eps,
      drop ? { p: drop.hidden, seed: a.seeds[2] } : null,
    );
    const d: AttentionDims = { S: B, L, NH, HS };
    for (let l = 0; l < a.layers.length; l++) {
      encoderLayerForward(be, w.layers[l], h, a.mask, a.layers[l], a.sc, d, eps, drop, a.train);
      h = a.layers[l].out;
    }
    const h3 = be.view(h, 0, [B, L, C]);
    if (want.pooler) poolerForward(be, w, h3, a.pooledPre, a.pooled);
    if (want.mlm && a.mlm) mlmHeadForward(be, w, h3, a.maskedPos!, a.mlm, eps);
    if (want.vqa && a.vqa) vqaHeadForward(be, w, h3, a.vqa);
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
    const hidden = (seed: number): DropoutSite | null => (drop ? { p: drop.hidden, seed } : null);
    // dh [B·L, C]: gradient of the last hidden state, built by the heads' scatter-adds (c1 is forward-only
    // scratch, free during the backward)
    const dh = sc.c1, dh3 = be.view(dh, 0, [B, L, C]);
    // losses and heads (the masked-LM head writes dh, the VQA head adds into it)
    if (this.task === "img2txt") {
      const m = a.mlm!;
      be.crossEntropyBackward({
        logits: m.logits,
        targets: a.maskedIds!,
        dlosses: m.coef,
        dlogits: m.dlogits,
        smoothing: opts.labelSmoothing ?? 0,
      });
      mlmHeadBackward(be, w, g, a.maskedPos!, m, { ...m, dh: dh3, writeDh: true });
    } else {
      const q = a.vqa!;
      be.fill(dh, 0);
      be.bceWithLogitsBackward({
        logits: q.logits,
        targets: a.answers!,
        dlogits: q.dlogits,
        scale: opts.lossScale ?? 1,
      });
      vqaHeadBackward(be, w, g, q, { ...q, dh: dh3 });
    }
    // encoder, last layer first; dh becomes d(layer input)
    const d: AttentionDims = { S: B, L, NH, HS };
    for (let l = a.layers.length - 1; l >= 0; l--) {
      const x = l > 0 ? a.layers[l - 1].out : drop ? a.emb.out : a.emb.ln;
      encoderLayerBackward(be, w.layers[l], g.layers[l], x, a.layers[l], sc, dh, d, drop);
      if (opts.onLayerGradients) {
        // the layer's gradients complete before the hook sees them
        be.fused?.finishGradientSums();
        opts.onLayerGradients(l);
        be.fused?.holdGradientSums();
      }
    }
    // embeddings (region gradients into c4 and dqkv, free now)
    const BR = B * R;
    const dvis = be.view(sc.c4, 0, [B, R, C]), dpe = be.view(sc.dqkv, 0, [B, R, C]);
    embeddingsBackward(
      be,
      w,
      g,
      {
        ids: a.ids,
        segmentIds: a.seg,
        posOffset: 0,
        ...(a.pos ? { positionIds: a.pos } : {}),
      },
      a.emb,
      { dh, ddrop: sc.c3, demb: sc.c2, dregions: dvis, dregionPos: dpe },
      hidden(a.seeds[2]),
    );
    // region branches
    regionBranchesBackward(be, w, g, { feats: a.feats, visPe: a.visPeIn }, a.regions, {
      dvis,
      dpe,
      t1: be.view(sc.c3, 0, [BR, C]),
      t2: be.view(sc.c1, 0, [BR, C]),
      dr1: a.dr1,
    }, drop ? { p: drop.hidden, seeds: [a.seeds[0], a.seeds[1]] } : null);
  }
}
