/**
 * The backend interface: tensor-level operations on backend-owned tensors. The model's forward and backward
 * passes are flat lists of these calls, so the same code runs on the plain TypeScript reference backend
 * (float32 or float64), the OpenBLAS backend, and a WebGPU backend whose tensors are GPU buffers.
 *
 * Rules every backend follows (and model code relies on):
 * - Operations are synchronous to call and may only enqueue work; nothing is read back implicitly. The one
 *   way to get data to the host is {@linkcode Backend.read}, which is asynchronous.
 * - An output never aliases an input of the same call, except where an argument is documented as
 *   read-write (`y` of `axpy`, outputs with `accumulate`, `c` with `beta ≠ 0`).
 * - Parameter gradients accumulate (+=); activation gradients are written (=) unless `accumulate` is set.
 * - Shapes come from the tensors (`shape`), row-major; a view of a flat buffer carries its own shape.
 * - Float tensors hold the backend's float type (float32, or float64 on the float64 reference backend);
 *   `int32` tensors hold token ids, positions and indices.
 *
 * @module
 */
import type { BertAdamHyper } from "./kernels/bert_adam.ts";
export type { BertAdamHyper };

/** Element type of a tensor: the backend's float type, or 32-bit integers (ids, indices). */
export type DType = "float" | "int32";

/** A backend-owned tensor: a shape and a dtype; its storage is the backend's business. */
export interface Tensor {
  /** Row-major shape. */
  readonly shape: readonly number[];
  /** Number of elements (product of `shape`). */
  readonly size: number;
  /** Element type. */
  readonly dtype: DType;
}

/** Host copy of a tensor, as {@linkcode Backend.read} returns it. */
export type HostArray = Float32Array | Float64Array | Int32Array;

/**
 * One (batched) matrix product, row-major, cblas semantics for each batch item:
 *
 *   C = alpha · op(A) · op(B) + beta · C  (+ bias broadcast over rows)
 *
 * op(A) is m×k (stored k×m with `transA`), op(B) is k×n (stored n×k with `transB`); `lda`, `ldb`, `ldc` are
 * row strides (defaults: contiguous). `batch` is an up-to-3-d batch shape; item (i₀, i₁, i₂) starts at
 * Σ iₓ·strideA[x] in `a` (likewise b, c); a stride of 0 broadcasts. Offsets come from views.
 */
export interface MatmulArgs {
  a: Tensor;
  b: Tensor;
  c: Tensor;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** default 1 */
  alpha?: number;
  /** default 0: C is overwritten (old values ignored) */
  beta?: number;
  /** [n], added to every row; only with beta = 0 */
  bias?: Tensor;
  batch?: readonly number[];
  strideA?: readonly number[];
  strideB?: readonly number[];
  strideC?: readonly number[];
}

/** Inputs of {@linkcode Backend.embedding}: VLP's word + position + segment sum with region slots. */
export interface EmbeddingArgs {
  /** [B, L] int32 token ids (region slots ignored) */
  ids: Tensor;
  /** [B, L] int32 segment ids */
  segmentIds: Tensor;
  /** [V, C] word table */
  wte: Tensor;
  /** [maxPositions, C] position table */
  wpe: Tensor;
  /** [typeVocab, C] segment table */
  wtt: Tensor;
  /** position of input slot 0 (slot l has position posOffset + l) unless positionIds is given */
  posOffset: number;
  /** [B, L] int32 explicit position ids (optional) */
  positionIds?: Tensor;
  /** [B, R, C] region features replacing the word embedding of slots 1..R (omit: no region slots) */
  regions?: Tensor;
  /** [B, R, C] region geometry embedding replacing the position embedding of slots 1..R */
  regionPos?: Tensor;
  /** [B, L, C] output */
  out: Tensor;
}

/** Gradients of {@linkcode Backend.embeddingBackward}. */
export interface EmbeddingBackwardArgs {
  ids: Tensor;
  segmentIds: Tensor;
  posOffset: number;
  positionIds?: Tensor;
  /** [B, L, C] */
  dout: Tensor;
  /** [V, C] += */
  dwte: Tensor;
  /** [maxPositions, C] += */
  dwpe: Tensor;
  /** [typeVocab, C] += */
  dwtt: Tensor;
  /** [B, R, C] = (present iff the forward had regions) */
  dregions?: Tensor;
  /** [B, R, C] = */
  dregionPos?: Tensor;
}

/**
 * Fused operations a backend may offer (the webgpu backend does): each is exactly a short list of the
 * {@linkcode Backend} calls it names, in fewer passes over memory. The model's layers (layers.ts) use them
 * when `backend.fused` is set and that list of calls otherwise, which is each one's reference twin.
 */
export interface FusedOps {
  /**
   * From now until {@linkcode FusedOps.finishGradientSums}, the parameter gradients that fused ops (and the
   * backend's `layernormBackward`) accumulate (+=) may be completed only by that call, which adds many
   * tensors' final sums in a few passes
   * (a backward pass holds them; the backend also completes them before any `read`, `sync` or BertAdam
   * update). Activation gradients are written as always.
   */
  holdGradientSums(): void;
  /** Complete the held-back parameter-gradient sums and stop holding. */
  finishGradientSums(): void;
  /**
   * A Linear's backward (y = x·Wᵀ + b) from x [M, K], w [N, K] and dy [M, N]: dx [M, K] = dy·W (+= with
   * `accumulateDx`; when given) ; dw [N, K] += dyᵀ·x ; db [N] += Σ_rows dy (when given) — `matmul`,
   * `matmul` (transA, beta 1), `sumRows` (accumulate).
   */
  linearBackward(args: {
    x: Tensor;
    w: Tensor;
    dy: Tensor;
    dx?: Tensor;
    dw: Tensor;
    db?: Tensor;
    accumulateDx?: boolean;
  }): void;
  /**
   * The embedding layer: emb = the embedding sum of `emb` (its `out` is emb) ; ln = LN(emb) ;
   * out = dropout(ln) (written only with dropout) — `embedding`, `layernorm`, `dropout`.
   */
  embeddingLayernorm(args: {
    emb: EmbeddingArgs;
    weight: Tensor;
    bias: Tensor;
    ln: Tensor;
    out: Tensor;
    mean: Tensor;
    rstd: Tensor;
    eps: number;
    dropout: { p: number; seed: number } | null;
  }): void;
  /**
   * Backward of {@linkcode FusedOps.embeddingLayernorm} from dout = d(out) (d(ln) without dropout):
   * `dropoutBackward` (into scratch), `layernormBackward` into demb (written; dweight, dbias +=), then
   * `embeddingBackward` of demb with `tables` (the table gradients +=, the region gradients written).
   */
  embeddingLayernormBackward(args: {
    dout: Tensor;
    emb: Tensor;
    mean: Tensor;
    rstd: Tensor;
    weight: Tensor;
    demb: Tensor;
    dweight: Tensor;
    dbias: Tensor;
    dropout: { p: number; seed: number } | null;
    tables: Omit<EmbeddingBackwardArgs, "dout">;
  }): void;
  /** res = dropout(proj) + resid ; out = LN(res) — `dropout`, `add`, `layernorm` (dropout null: none). */
  residualLayernorm(args: {
    proj: Tensor;
    resid: Tensor;
    weight: Tensor;
    bias: Tensor;
    res: Tensor;
    out: Tensor;
    mean: Tensor;
    rstd: Tensor;
    eps: number;
    dropout: { p: number; seed: number } | null;
  }): void;
  /**
   * Backward of {@linkcode FusedOps.residualLayernorm} with the output Linear's bias gradient:
   * `layernormBackward` into dres (written), `dropoutBackward` of dres into dproj (written; a copy
   * without dropout), `sumRows` of dproj into dprojBias (+=); dweight, dbias += .
   */
  residualLayernormBackward(args: {
    dout: Tensor;
    res: Tensor;
    mean: Tensor;
    rstd: Tensor;
    weight: Tensor;
    dres: Tensor;
    dproj: Tensor;
    dweight: Tensor;
    dbias: Tensor;
    dprojBias: Tensor;
    dropout: { p: number; seed: number } | null;
  }): void;
  /**
   * Self-attention's forward (layers.ts `attentionForward`: the scores GEMM, `softmax`, `dropout`, the context
   * GEMM) in one pass where the backend supports the shapes; returns false (and does nothing) where it
   * does not. Writes probs, probsD (with dropout) and ctx; not the scores.
   */
  attentionForward(args: {
    /** [S·L, 3C] */
    qkv: Tensor;
    /** [S, L, L] additive */
    mask: Tensor;
    /** [S, NH, L, L] */
    probs: Tensor;
    /** [S, NH, L, L] (written only with dropout) */
    probsD: Tensor;
    /** [S·L, C] */
    ctx: Tensor;
    dims: { S: number; L: number; NH: number; HS: number };
    dropout: { p: number; seed: number } | null;
  }): boolean;
  /**
   * Backward of {@linkcode FusedOps.attentionForward} (layers.ts `attentionBackward`: four batched GEMMs,
   * `dropoutBackward`, `softmaxBackward`) in one pass where the backend supports the shapes; returns false
   * (and does nothing) where it does not. Writes dqkv [S·L, 3C] from dctx [S·L, C], and with `dbias`
   * [3C] adds the column sums of dqkv to it (the Q/K/V bias gradient, `sumRows` of dqkv).
   */
  attentionBackward(args: {
    qkv: Tensor;
    probs: Tensor;
    dctx: Tensor;
    dqkv: Tensor;
    dbias?: Tensor;
    dims: { S: number; L: number; NH: number; HS: number };
    dropout: { p: number; seed: number } | null;
  }): boolean;
  /**
   * out = gelu(x·wᵀ + bias), grad = gelu'(x·wᵀ + bias) when given (the FFN-in Linear and its GELU) —
   * `matmul` into `pre`, `gelu` of pre. Where the backend runs it as one product with a GELU epilogue it
   * returns true and pre (the unfused path's scratch) is not written; false: nothing was done.
   */
  linearGelu(args: { x: Tensor; w: Tensor; bias: Tensor; pre: Tensor; out: Tensor; grad?: Tensor }): boolean;
  /** out = relu(x·wᵀ + bias) (the region branches) — `matmul` into `pre`, `relu`; as `linearGelu`. */
  linearRelu(args: { x: Tensor; w: Tensor; bias: Tensor; pre: Tensor; out: Tensor }): boolean;
  /**
   * dx = reluBackward(y, dropoutBackward(dout)) ; dsum += Σ_rows dx (the region branches' ReLU and dropout
   * backward with their Linear's bias gradient) — `dropoutBackward` (dropout null: none), `reluBackward`,
   * `sumRows`.
   */
  reluBackwardColumnSum(args: {
    y: Tensor;
    dout: Tensor;
    dx: Tensor;
    dsum: Tensor;
    dropout: { p: number; seed: number } | null;
  }): void;
  /**
   * dx [Bx, M, D] = 0, then dx[b, index[b, p], :] += dout[b, p, :] (a row gather's backward, written) —
   * `fill` (0), `scatterAddRows`.
   */
  scatterRows(args: { dout: Tensor; index: Tensor; dx: Tensor }): void;
  /** out = a ⊙ b ; dsum += Σ_rows out — `mul`, `sumRows` (the GELU backward with the FFN-in bias gradient). */
  mulColumnSum(args: { a: Tensor; b: Tensor; out: Tensor; dsum: Tensor }): void;
  /** probs = softmax(x + mask) ; dropped = dropout(probs) — `softmax`, `dropout`. */
  softmaxDropout(
    args: { x: Tensor; mask: Tensor; probs: Tensor; dropped: Tensor; p: number; seed: number },
  ): void;
  /** dx = softmax backward at probs of dropoutBackward(ddropped) — `dropoutBackward`, `softmaxBackward`. */
  softmaxDropoutBackward(
    args: { probs: Tensor; ddropped: Tensor; dx: Tensor; p: number; seed: number },
  ): void;
}

/** The operations a backend provides (see the module doc for the rules). */
export interface Backend {
  /** "reference", "reference64", "blas", "webgpu", ... */
  readonly name: string;
  /** Storage type of float tensors. */
  readonly floatType: "float32" | "float64";
  /** Fused operations, where the backend has them (see {@linkcode FusedOps}). */
  readonly fused?: FusedOps;

  // ---- memory -------------------------------------------------------------------------------------------
  /** A new zero-filled tensor. */
  alloc(shape: readonly number[], dtype?: DType): Tensor;
  /** Elements [offset, offset + Πshape) of `t` (a flat range), seen with `shape`; shares storage. */
  view(t: Tensor, offset: number, shape: readonly number[]): Tensor;
  /** Copy host values into `t` (`data.length` must equal `t.size`; enqueued). */
  write(t: Tensor, data: ArrayLike<number>): void;
  /** Copy a tensor to the host, after all enqueued work that writes it. */
  read(t: Tensor): Promise<HostArray>;
  /** Release a tensor's storage (views: no-op). Using it afterwards is an error. */
  free(t: Tensor): void;
  /** Wait for all enqueued work (no-op on synchronous backends). */
  sync(): Promise<void>;

  // ---- copies and element-wise --------------------------------------------------------------------------
  /** t[:] = value. */
  fill(t: Tensor, value: number): void;
  /** dst = src (same size). */
  copy(src: Tensor, dst: Tensor): void;
  /**
   * Strided block copy: for i < shape[0], j < shape[1]: dst[i·dstStride[0] + j·dstStride[1] + (0..shape[2])]
   * = src[i·srcStride[0] + j·srcStride[1] + (0..shape[2])] (offsets from the views).
   */
  copyStrided(args: {
    src: Tensor;
    dst: Tensor;
    shape: readonly [number, number, number];
    srcStride: readonly [number, number];
    dstStride: readonly [number, number];
  }): void;
  /** out = a + b. */
  add(args: { a: Tensor; b: Tensor; out: Tensor }): void;
  /** out = a ⊙ b. */
  mul(args: { a: Tensor; b: Tensor; out: Tensor }): void;
  /** y += alpha · x (y read-write). */
  axpy(args: { x: Tensor; y: Tensor; alpha: number }): void;

  // ---- linear algebra -----------------------------------------------------------------------------------
  /** Batched strided GEMM (see {@linkcode MatmulArgs}). */
  matmul(args: MatmulArgs): void;
  /** out[j] (+)= Σᵢ x[i, j] for x [rows, out.size] (bias gradients). */
  sumRows(args: { x: Tensor; out: Tensor; accumulate?: boolean }): void;

  // ---- layers -------------------------------------------------------------------------------------------
  /** LayerNorm over the last dim (C = weight.size); writes out, mean [rows], rstd [rows]. */
  layernorm(args: {
    x: Tensor;
    weight: Tensor;
    bias: Tensor;
    out: Tensor;
    mean: Tensor;
    rstd: Tensor;
    eps: number;
  }): void;
  /** dx = (or += with accumulate), dweight += , dbias += . */
  layernormBackward(args: {
    dout: Tensor;
    x: Tensor;
    mean: Tensor;
    rstd: Tensor;
    weight: Tensor;
    dx: Tensor;
    dweight: Tensor;
    dbias: Tensor;
    accumulate?: boolean;
  }): void;
  /** out = gelu(x), exact erf form; `grad` (optional) receives gelu'(x) for a backward by `mul`. */
  gelu(args: { x: Tensor; out: Tensor; grad?: Tensor }): void;
  /** dx = dout · gelu'(x). */
  geluBackward(args: { x: Tensor; dout: Tensor; dx: Tensor }): void;
  /** out = max(x, 0). */
  relu(args: { x: Tensor; out: Tensor }): void;
  /** dx = dout · [y > 0] from the ReLU output y. */
  reluBackward(args: { y: Tensor; dout: Tensor; dx: Tensor }): void;
  /** out = tanh(x). */
  tanh(args: { x: Tensor; out: Tensor }): void;
  /** out = softmax(x + mask) over the last dim; x [S, NH, Lq, Lk], mask [S, Lq, Lk] additive. */
  softmax(args: { x: Tensor; mask: Tensor; out: Tensor }): void;
  /** dx = p ⊙ (dp − Σ p·dp) over the last dim. */
  softmaxBackward(args: { p: Tensor; dp: Tensor; dx: Tensor }): void;
  /** out = x · keep/(1 − p), keep from the counter-based hash of (index, seed) (kernels/dropout.ts). */
  dropout(args: { x: Tensor; out: Tensor; p: number; seed: number }): void;
  /** dx = dout · keep/(1 − p), the same mask as the forward with this seed. */
  dropoutBackward(args: { dout: Tensor; dx: Tensor; p: number; seed: number }): void;
  /** VLP's embedding sum (see {@linkcode EmbeddingArgs}). */
  embedding(args: EmbeddingArgs): void;
  /** Backward of {@linkcode Backend.embedding}. */
  embeddingBackward(args: EmbeddingBackwardArgs): void;
  /** out[b,p,:] = x[b, index[b,p], :]; x [Bx, M, D], index [Bx, P] int32, out [Bx, P, D]. */
  gatherRows(args: { x: Tensor; index: Tensor; out: Tensor }): void;
  /** dx[b, index[b,p], :] += dout[b,p,:]. */
  scatterAddRows(args: { dout: Tensor; index: Tensor; dx: Tensor }): void;
  /**
   * values, indices [N, k] = the k largest of each row of x [N, V], descending, ties to the lower index,
   * NaN skipped (kernels/topk.ts); indices int32. With `stats` [N, 2]: each row's max and Σ exp(x − max).
   * Decoding's argmax (k = 1) and beam search's candidates on the device.
   */
  topkRows(args: { x: Tensor; values: Tensor; indices: Tensor; stats?: Tensor }): void;

  // ---- losses -------------------------------------------------------------------------------------------
  /** losses[n] = CE(logits[n,:], targets[n]), label-smoothed when smoothing > 0 (kernels/losses.ts). */
  crossEntropy(args: { logits: Tensor; targets: Tensor; losses: Tensor; smoothing?: number }): void;
  /** dlogits[n,:] = dlosses[n] · (softmax − q) (written). */
  crossEntropyBackward(args: {
    logits: Tensor;
    targets: Tensor;
    dlosses: Tensor;
    dlogits: Tensor;
    smoothing?: number;
  }): void;
  /**
   * Masked-LM reduction with drop-worst: out [1] = loss; coef [B, P] = scale · dloss/dlosses (kernels/losses.ts).
   */
  maskedLossReduce(args: {
    losses: Tensor;
    weights: Tensor;
    out: Tensor;
    coef: Tensor;
    dropWorstRatio: number;
    scale?: number;
    /** replaces the denominator Σ_kept w + 1e-5 */
    normalizer?: number;
  }): void;
  /** out [1] = Σ BCE-with-logits(logits, targets) / B for logits [B, A]. */
  bceWithLogits(args: { logits: Tensor; targets: Tensor; out: Tensor }): void;
  /** dlogits = scale · (σ(logits) − targets) / B (written). */
  bceWithLogitsBackward(args: { logits: Tensor; targets: Tensor; dlogits: Tensor; scale?: number }): void;

  // ---- optimiser ----------------------------------------------------------------------------------------
  /**
   * One BertAdam step on one parameter tensor (spec 8.1, kernels/bert_adam.ts): clip `grad` to L2 norm
   * `maxGradNorm` on its own, update `m`, `v` and `param` in place, no bias correction. `grad` is read only.
   */
  bertAdamUpdate(args: BertAdamArgs): void;

  /**
   * BertAdam on several tensors: each exactly as {@linkcode Backend.bertAdamUpdate} updates it (its own
   * gradient-norm clip and weight decay), the other hyper-parameters shared. Backends may batch the work
   * (webgpu: two dispatches for all tensors that live in the same four buffers, instead of two per tensor).
   */
  bertAdamUpdateGroup(args: BertAdamGroupArgs): void;
}

/** Arguments of {@linkcode Backend.bertAdamUpdate}: four tensors of one size and the step's hyper-parameters. */
export interface BertAdamArgs extends BertAdamHyper {
  /** parameter (read-write) */
  param: Tensor;
  /** its gradient (read) */
  grad: Tensor;
  /** first moment (read-write) */
  m: Tensor;
  /** second moment (read-write) */
  v: Tensor;
}

/** One tensor of {@linkcode Backend.bertAdamUpdateGroup}: four tensors of one size and its weight decay. */
export interface BertAdamTensors {
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
  /** decoupled weight decay of this tensor (0.01, or 0 for biases and LayerNorm) */
  weightDecay: number;
}

/** Arguments of {@linkcode Backend.bertAdamUpdateGroup}. */
export interface BertAdamGroupArgs extends Omit<BertAdamHyper, "weightDecay"> {
  tensors: readonly BertAdamTensors[];
}

/** Πshape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2, 3]`, for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
