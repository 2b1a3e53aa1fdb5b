/**
 * Incremental decoding forward (spec §5.2) with a per-layer key/value cache.
 *
 * VLP's decoder appends one `[MASK]` per step and keeps the hidden states of every earlier position (the
 * embedding output and each layer's output); each layer then re-projects those states to keys and values.
 * Here each layer caches the keys and values themselves, which is the same arithmetic without the repeated
 * projections:
 *
 * - `start()`: the prompt ([CLS], R regions, [SEP], positions 0..A−1 with A = R + 2) plus a `[MASK]` at
 *   position A, region inputs in slots 1..R, for B images. Keys/values of the prompt go to a per-image
 *   prefix cache [B, A, 2C]; the logits of the `[MASK]` come back [B, V].
 * - `expand(W)`: every image becomes W sequences (sequence n = b·W + w), sharing the image's prefix cache.
 * - `step(tokens)`: each sequence's chosen token replaces its `[MASK]` and a new `[MASK]` is appended
 *   (2 new positions); their keys/values go to a per-sequence generation cache [N, T, 2C] (T = maxLength − A);
 *   returns the logits of the new `[MASK]` [N, V].
 * - `reorder(src)`: sequence n takes the generation cache of sequence src[n] (beam search back-pointers;
 *   within the same image).
 *
 * A step is the full forward's layer list (layers.ts, embeddings.ts, heads.ts: the region branches, the
 * embedding layer, per layer the Q/K/V projection, attention, the attention output and FFN blocks, then the
 * masked-LM head) on the step's new positions; only the attention is the decoder's own, because its keys and
 * values come from the caches. Attention of a step: scores = Q·[K_prefix(image) | K_gen(sequence)]ᵀ/√HS with the decoder-time mask
 * (every row sees the prompt; generation rows see generation positions up to themselves) or per-image
 * rows/columns of a given mask, then softmax, then P·[V_prefix | V_gen].
 *
 * Dropout: none by default (eval mode). With `dropoutRng` in {@linkcode StartInputs} the decode runs in
 * train mode, as the original's sampling for SCST (`model.train()`): dropout (the config's probabilities) on
 * the two region branches, the embedding output, the attention probabilities, and the attention and FFN
 * outputs before their residual adds, with one seed per site and call drawn from that generator. A
 * position's keys/values are cached as computed, so its dropout mask stays fixed in later steps, as the
 * original's cached hidden states do.
 *
 * The decoder implements {@linkcode DecodingEngine} (`startLogits`/`stepLogits` read the logits to the host),
 * the interface search code is written against; argument checks and each call's ids, segment ids and mask
 * come from the shared {@linkcode DecodeSchedule}.
 *
 * @example Usage (greedy)
 * ```ts ignore
 * const dec = new IncrementalDecoder(model, { maxImages: B });
 * let logits = await model.backend.read(dec.start({ regionFeats, visPe, inputIds, segmentIds }));
 * for (let t = 1; t < dec.maxSteps; t++) logits = await model.backend.read(dec.step(argmaxRows(logits, V)));
 * ```
 *
 * @module
 */
import type { Backend, Tensor } from "./backend.ts";
import type { Numbers } from "./batch.ts";
import type { Rng } from "./rng.ts";
import { attentionOutputForward, type DropoutSite, ffnForward, linear } from "./layers.ts";
import { embeddingsForward, regionBranchesForward } from "./embeddings.ts";
import { mlmHeadForward } from "./heads.ts";
import { additiveMask } from "./kernels/softmax.ts";
import type { VlpModel } from "./vlp.ts";
import {
  DecodeSchedule,
  type DecodingEngine,
  type StartInputs,
  type StepInputs,
  type TopRows,
} from "./decode_schedule.ts";

/** Options of {@linkcode IncrementalDecoder}. */
export interface IncrementalOptions {
  /** Most images per `start()` (B). */
  maxImages: number;
  /** Most sequences per image after `expand()` (beam width W; default 1). */
  maxWidth?: number;
  /** Positions of a finished sequence, prompt included (default R + 2 + 20 = 122 for R = 100). */
  maxLength?: number;
}

interface StepBuffers {
  ids: Tensor; // [rows] int32
  seg: Tensor; // [rows] int32
  x: Tensor; // [rows, C] embeddings
  mean: Tensor; // [rows]
  rstd: Tensor;
  h: Tensor[]; // 2 × [rows, C] hidden states (ping-pong)
  qkv: Tensor; // [rows, 3C]
  scores: Tensor; // [N·NH·Lq·Lk max]
  probs: Tensor;
  mask: Tensor; // [N·Lq·Lk max]
  ctx: Tensor; // [rows, C]
  c1: Tensor; // [rows, C]
  res: Tensor; // [rows, C]
  a: Tensor; // [rows, C]
  f1: Tensor; // [rows, I]
  f2: Tensor; // [rows, I]
  last: Tensor; // [N, C]
  lastIdx: Tensor; // [N, 1] int32
  srcIdx: Tensor; // [1, N] int32 (reorder)
  t1: Tensor; // [N, C]
  t2: Tensor;
  t3: Tensor;
  tMean: Tensor; // [N]
  tRstd: Tensor;
  logits: Tensor; // [N, V]
  // region inputs (first step)
  feats: Tensor; // [B·R, F]
  visPe: Tensor; // [B·R, G]
  r1Pre: Tensor; // [B·R, FH]
  r1: Tensor;
  r2Pre: Tensor; // [B·R, C]
  r2: Tensor;
  pPre: Tensor;
  p: Tensor;
}

/** Incremental decoding state of up to maxImages × maxWidth sequences (see the module doc). */
export class IncrementalDecoder implements DecodingEngine {
  /** The model whose weights are used. */
  readonly model: VlpModel;
  /** A = R + 2 prompt positions. */
  readonly promptLength: number;
  /** Positions of a finished sequence (prompt included). */
  readonly maxLength: number;
  /** Most images per start(). */
  readonly maxImages: number;
  /** Most sequences per image. */
  readonly maxWidth: number;
  readonly #be: Backend;
  readonly #prefix: Tensor[]; // per layer [Bmax, A, 2C]
  #gen: Tensor[]; // per layer [Nmax, T, 2C]
  #genSpare: Tensor[];
  readonly #buf: StepBuffers;
  readonly #s: DecodeSchedule; // images, width, position, per-image segment ids and mask; argument checks
  #dropoutRng: Rng | null = null;
  #regions: { vis: Tensor; pe: Tensor } | null = null; // [B·R, C] region branch outputs of start()

  /** Allocate the caches and step buffers for the largest decode the options allow. */
  constructor(model: VlpModel, opts: IncrementalOptions) {
    const cfg = model.config;
    this.model = model;
    this.#be = model.backend;
    const { C, NH, I, V, R, F, FH, G, NL } = model.dims;
    this.#s = new DecodeSchedule({ R, F, G, maxPositions: cfg.maxPositions }, opts);
    this.promptLength = this.#s.promptLength;
    this.maxLength = this.#s.maxLength;
    this.maxImages = this.#s.maxImages;
    this.maxWidth = this.#s.maxWidth;
    const A = this.promptLength, T = this.maxLength - A;
    const be = this.#be;
    const Bm = this.maxImages, Nm = Bm * this.maxWidth;
    this.#prefix = Array.from({ length: NL }, () => be.alloc([Bm, A, 2 * C]));
    this.#gen = Array.from({ length: NL }, () => be.alloc([Nm, T, 2 * C]));
    this.#genSpare = Array.from({ length: NL }, () => be.alloc([Nm, T, 2 * C]));
    // largest step: the first (B·(A+1) rows, Lk = A+1) or a later one (N·2 rows, Lk ≤ maxLength)
    const rows = Math.max(Bm * (A + 1), Nm * 2);
    const att = Math.max(Bm * (A + 1) * (A + 1), Nm * 2 * this.maxLength);
    const f = (...s: number[]) => be.alloc(s);
    this.#buf = {
      ids: be.alloc([rows], "int32"),
      seg: be.alloc([rows], "int32"),
      x: f(rows, C),
      mean: f(rows),
      rstd: f(rows),
      h: [f(rows, C), f(rows, C)],
      qkv: f(rows, 3 * C),
      scores: f(att * NH),
      probs: f(att * NH),
      mask: f(att),
      ctx: f(rows, C),
      c1: f(rows, C),
      res: f(rows, C),
      a: f(rows, C),
      f1: f(rows, I),
      f2: f(rows, I),
      last: f(Nm, C),
      lastIdx: be.alloc([Nm, 1], "int32"),
      srcIdx: be.alloc([1, Nm], "int32"),
      t1: f(Nm, C),
      t2: f(Nm, C),
      t3: f(Nm, C),
      tMean: f(Nm),
      tRstd: f(Nm),
      logits: f(Nm, V),
      feats: f(Bm * R, F),
      visPe: f(Bm * R, G),
      r1Pre: f(Bm * R, FH),
      r1: f(Bm * R, FH),
      r2Pre: f(Bm * R, C),
      r2: f(Bm * R, C),
      pPre: f(Bm * R, C),
      p: f(Bm * R, C),
    };
  }

  /** V: logits per row. */
  get vocabSize(): number {
    return this.model.dims.V;
  }

  /** Current number of sequences (images × width). */
  get numSequences(): number {
    return this.#s.numSequences;
  }

  /** Sequences per image. */
  get width(): number {
    return this.#s.width;
  }

  /** Position of the `[MASK]` whose logits the last call returned (−1 before start). */
  get position(): number {
    return this.#s.position;
  }

  /** Logits calls of a full decode: start() plus maxSteps − 1 steps (VLP: 20). */
  get maxSteps(): number {
    return this.#s.maxSteps;
  }

  /** Run the prompt of B images (see the module doc); returns the [B, V] logits of the `[MASK]` at A. */
  start(inp: StartInputs): Tensor {
    this.model.syncHalfWeights(); // --fp16: the float16 weights from the current parameters
    const step = this.#s.start(inp);
    this.#dropoutRng = inp.dropoutRng ?? null;
    this.#regionBranches(inp, step.N);
    return this.#run(step);
  }

  /** {@linkcode IncrementalDecoder.start}, read to the host ({@linkcode DecodingEngine}). */
  async startLogits(inp: StartInputs): Promise<Float32Array | Float64Array> {
    return (await this.#be.read(this.start(inp))) as Float32Array | Float64Array;
  }

  /** {@linkcode IncrementalDecoder.start} with only the top k of each row read back (`topkRows`). */
  startTop(inp: StartInputs, k: number): Promise<TopRows> {
    return this.#top(this.start(inp), k);
  }

  /** Make each image W sequences (n = b·W + w) after start(). */
  expand(width: number): void {
    // only the scratch [MASK] slot is in the generation cache so far: nothing to copy
    this.#s.expand(width);
  }

  /** Append one token per sequence (where the last `[MASK]` was) and a new `[MASK]`; returns [N, V] logits. */
  step(tokens: Numbers): Tensor {
    return this.#run(this.#s.step(tokens));
  }

  /** {@linkcode IncrementalDecoder.step}, read to the host ({@linkcode DecodingEngine}). */
  async stepLogits(tokens: Numbers): Promise<Float32Array | Float64Array> {
    return (await this.#be.read(this.step(tokens))) as Float32Array | Float64Array;
  }

  /** {@linkcode IncrementalDecoder.step} with only the top k of each row read back (`topkRows`). */
  stepTop(tokens: Numbers, k: number): Promise<TopRows> {
    return this.#top(this.step(tokens), k);
  }

  /** The top k of each row of logits [N, V] on the backend; only those come to the host. */
  async #top(logits: Tensor, k: number): Promise<TopRows> {
    const be = this.#be, N = logits.shape[0];
    // values [N, k] and stats [N, 2] in one tensor: one read for both
    const floats = be.alloc([N * (k + 2)]), indices = be.alloc([N, k], "int32");
    try {
      const values = be.view(floats, 0, [N, k]), stats = be.view(floats, N * k, [N, 2]);
      be.topkRows({ x: logits, values, indices, stats });
      const f = (await be.read(floats)) as Float32Array | Float64Array, i = await be.read(indices);
      return { values: f.subarray(0, N * k), indices: i as Int32Array, stats: f.subarray(N * k) };
    } finally {
      be.free(floats);
      be.free(indices);
    }
  }

  /** Sequence n takes the state of sequence src[n] (same image: ⌊src[n]/W⌋ = ⌊n/W⌋). */
  reorder(src: Numbers): void {
    const idx = this.#s.reorder(src), N = idx.length;
    const be = this.#be;
    const T = this.maxLength - this.promptLength, C2 = 2 * this.model.dims.C;
    const index = be.view(this.#buf.srcIdx, 0, [1, N]);
    be.write(index, idx);
    for (let l = 0; l < this.#gen.length; l++) {
      be.gatherRows({
        x: be.view(this.#gen[l], 0, [1, N, T * C2]),
        index,
        out: be.view(this.#genSpare[l], 0, [1, N, T * C2]),
      });
    }
    [this.#gen, this.#genSpare] = [this.#genSpare, this.#gen];
  }

  // ---- internals ----------------------------------------------------------------------------------------

  /** The region branches of B images; their outputs stay in the buffers for the first step's embedding. */
  #regionBranches(inp: StartInputs, B: number): void {
    const be = this.#be, w = this.model.weights, b = this.#buf;
    const { R, F, G, FH, C } = this.model.dims;
    const v = (t: Tensor, ...s: number[]) => be.view(t, 0, s);
    const feats = v(b.feats, B * R, F), visPe = v(b.visPe, B * R, G);
    be.write(feats, inp.regionFeats);
    be.write(visPe, inp.visPe);
    const p = this.#dropP("hidden");
    // train mode: dropout of both branches into their pre-activation buffers (free after the relu)
    const r2Pre = v(b.r2Pre, B * R, C), pPre = v(b.pPre, B * R, C);
    const r = regionBranchesForward(be, w, { feats, visPe }, {
      r1Pre: v(b.r1Pre, B * R, FH),
      r1: v(b.r1, B * R, FH),
      r2Pre,
      r2: v(b.r2, B * R, C),
      pPre,
      p: v(b.p, B * R, C),
    }, p > 0 ? { p, seeds: [this.#seed(), this.#seed()], vis: r2Pre, pe: pPre } : null);
    this.#regions = r;
  }

  /** Dropout probability of a site in this decode (0 in eval mode). */
  #dropP(site: "hidden" | "attention"): number {
    if (!this.#dropoutRng) return 0;
    return site === "hidden" ? this.model.config.hiddenDropout : this.model.config.attentionDropout;
  }

  #seed(): number {
    return this.#dropoutRng!.nextU32();
  }

  /** A hidden-dropout site of this decode with a fresh seed (null in eval mode). */
  #hiddenSite(p: number): DropoutSite | null {
    return p > 0 ? { p, seed: this.#seed() } : null;
  }

  /** One forward over Lq new positions starting at `start` for every sequence; returns [N, V] logits. */
  #run(step: StepInputs): Tensor {
    const be = this.#be, w = this.model.weights, b = this.#buf, cfg = this.model.config;
    const { C, NH, HS, I, V, R, NL } = this.model.dims;
    const { start, Lq, Lk, N, W } = step;
    const first = start === 0;
    const pHidden = this.#dropP("hidden"), pAttn = this.#dropP("attention");
    const A = this.promptLength, T = this.maxLength - A;
    const B = N / W;
    const rows = N * Lq, Lg = Lk - A; // key columns: A prefix + Lg generation slots
    const eps = cfg.layerNormEps, C3 = 3 * C, C2 = 2 * C;
    const v = (t: Tensor, ...s: number[]) => be.view(t, 0, s);
    // inputs of this step
    be.write(v(b.ids, rows), step.ids);
    be.write(v(b.seg, rows), step.segmentIds);
    const mask = be.floatType === "float64"
      ? new Float64Array(step.mask.length)
      : new Float32Array(step.mask.length);
    be.write(v(b.mask, N, Lq, Lk), additiveMask(step.mask, mask));
    // embeddings (regions in slots 1..R on the first step only); train mode: LayerNorm into res, dropout into h
    const h0 = v(b.h[0], rows, C);
    let h = embeddingsForward(
      be,
      w,
      {
        ids: v(b.ids, N, Lq),
        segmentIds: v(b.seg, N, Lq),
        posOffset: start,
        ...(first
          ? { regions: v(this.#regions!.vis, N, R, C), regionPos: v(this.#regions!.pe, N, R, C) }
          : {}),
      },
      {
        emb: v(b.x, rows, C),
        mean: v(b.mean, rows),
        rstd: v(b.rstd, rows),
        ln: pHidden > 0 ? v(b.res, rows, C) : h0,
        out: h0,
      },
      eps,
      this.#hiddenSite(pHidden),
    );
    const scores = v(b.scores, N, NH, Lq, Lk), probs = v(b.probs, N, NH, Lq, Lk);
    const qkv = v(b.qkv, rows, C3), ctx = v(b.ctx, rows, C);
    const scale = 1 / Math.sqrt(HS);
    for (let l = 0; l < NL; l++) {
      const lw = w.layers[l], prefix = this.#prefix[l], gen = this.#gen[l];
      linear(be, h, lw.qkvW, lw.qkvB, qkv);
      // keys/values of the new positions into the caches
      const kvNew = be.view(qkv, C, [qkv.size - C]);
      if (first) {
        be.copyStrided({
          src: kvNew,
          dst: prefix,
          shape: [N, A, C2],
          srcStride: [Lq * C3, C3],
          dstStride: [A * C2, C2],
        });
        be.copyStrided({
          src: be.view(qkv, A * C3 + C, [qkv.size - A * C3 - C]),
          dst: gen,
          shape: [N, 1, C2],
          srcStride: [Lq * C3, C3],
          dstStride: [T * C2, C2],
        });
      } else {
        be.copyStrided({
          src: kvNew,
          dst: be.view(gen, (start - A) * C2, [gen.size - (start - A) * C2]),
          shape: [N, Lq, C2],
          srcStride: [Lq * C3, C3],
          dstStride: [T * C2, C2],
        });
      }
      // scores: prefix columns 0..A−1 (shared by the W sequences of an image), then generation columns
      be.matmul({
        a: qkv,
        b: prefix,
        c: scores,
        m: Lq,
        n: A,
        k: HS,
        transB: true,
        lda: C3,
        ldb: C2,
        ldc: Lk,
        alpha: scale,
        batch: [B, W, NH],
        strideA: [W * Lq * C3, Lq * C3, HS],
        strideB: [A * C2, 0, HS],
        strideC: [W * NH * Lq * Lk, NH * Lq * Lk, Lq * Lk],
      });
      be.matmul({
        a: qkv,
        b: gen,
        c: be.view(scores, A, [scores.size - A]),
        m: Lq,
        n: Lg,
        k: HS,
        transB: true,
        lda: C3,
        ldb: C2,
        ldc: Lk,
        alpha: scale,
        batch: [N, NH],
        strideA: [Lq * C3, HS],
        strideB: [T * C2, HS],
        strideC: [NH * Lq * Lk, Lq * Lk],
      });
      be.softmax({ x: scores, mask: v(b.mask, N, Lq, Lk), out: probs });
      // train mode: dropped probabilities into the (consumed) scores buffer
      const P = pAttn > 0 ? scores : probs;
      if (pAttn > 0) be.dropout({ x: probs, out: scores, p: pAttn, seed: this.#seed() });
      // ctx = P[:, :, :, :A]·V_prefix + P[:, :, :, A:]·V_gen
      be.matmul({
        a: P,
        b: be.view(prefix, C, [prefix.size - C]),
        c: ctx,
        m: Lq,
        n: HS,
        k: A,
        lda: Lk,
        ldb: C2,
        ldc: C,
        batch: [B, W, NH],
        strideA: [W * NH * Lq * Lk, NH * Lq * Lk, Lq * Lk],
        strideB: [A * C2, 0, HS],
        strideC: [W * Lq * C, Lq * C, HS],
      });
      be.matmul({
        a: be.view(P, A, [P.size - A]),
        b: be.view(gen, C, [gen.size - C]),
        c: ctx,
        m: Lq,
        n: HS,
        k: Lg,
        lda: Lk,
        ldb: C2,
        ldc: C,
        beta: 1,
        batch: [N, NH],
        strideA: [NH * Lq * Lk, Lq * Lk],
        strideB: [T * C2, HS],
        strideC: [Lq * C, HS],
      });
      // attention output and FFN blocks, as in encoderLayerForward (train mode: dropout into ctx, free)
      const c1 = v(b.c1, rows, C), res = v(b.res, rows, C), a = v(b.a, rows, C);
      const mean = v(b.mean, rows), rstd = v(b.rstd, rows);
      attentionOutputForward(
        be,
        lw,
        ctx,
        h,
        { proj: c1, dropped: ctx, res, mean, rstd, out: a },
        eps,
        this.#hiddenSite(pHidden),
      );
      const out = v(b.h[(l + 1) % 2], rows, C);
      ffnForward(
        be,
        lw,
        a,
        {
          pre: v(b.f1, rows, I),
          act: v(b.f2, rows, I),
          proj: c1,
          dropped: ctx,
          res,
          mean,
          rstd,
          out,
        },
        eps,
        this.#hiddenSite(pHidden),
      );
      h = out;
    }
    // LM head on the last position ([MASK]) of every sequence
    const idx = v(b.lastIdx, N, 1);
    be.write(idx, new Int32Array(N).fill(Lq - 1));
    const logits = v(b.logits, N, V);
    mlmHeadForward(be, w, be.view(h, 0, [N, Lq, C]), idx, {
      hm: v(b.last, N, C),
      t1: v(b.t1, N, C),
      t2: v(b.t2, N, C),
      t3: v(b.t3, N, C),
      mean: v(b.tMean, N),
      rstd: v(b.tRstd, N),
      logits,
    }, eps);
    return logits;
  }
}
