/**
 * The WebGPU backend: every {@linkcode Backend} operation as WGSL compute kernels (./kernels/, one kernel
 * per file) on GPU buffers, float32 storage and arithmetic. Operations record dispatches and return at once;
 * `read()` and `sync()` wait for the GPU and report errors (see runtime.ts).
 *
 * Calls whose tensors would need a storage binding larger than the device allows are split: element-wise
 * and row-wise operations into ranges of elements or rows, matmul recursively along a batch dimension,
 * then m, n or k. The embedding tables and [B·L, C] activations must each fit one binding (128 MiB on
 * every adapter; all BERT-base tensors do).
 *
 * Beyond the interface: {@linkcode WebGpuBackend.allocF16} makes float16 tensors (adapters with
 * `shader-f16`) that `matmul` accepts as `a` and `b` (products and sums in float32, C in float32); no
 * other operation takes them.
 *
 * @example Usage
 * ```ts ignore
 * import { WebGpuBackend } from "@vlp/model";
 * const be = await WebGpuBackend.create();
 * const a = be.alloc([2, 2]), b = be.alloc([2, 2]), c = be.alloc([2, 2]);
 * be.write(a, [1, 2, 3, 4]);
 * be.write(b, [1, 0, 0, 1]);
 * be.matmul({ a, b, c, m: 2, n: 2, k: 2 });
 * console.log(await be.read(c)); // Float32Array [1, 2, 3, 4]
 * ```
 *
 * @module
 */
import {
  type Backend,
  type BertAdamArgs,
  type BertAdamGroupArgs,
  type DType,
  type EmbeddingArgs,
  type EmbeddingBackwardArgs,
  fmtShape,
  type HostArray,
  type MatmulArgs,
  numel,
  type Tensor,
} from "../../backend.ts";
import { type NormalizedMatmul, normalizeMatmul } from "../reference.ts";
import { dropoutThreshold } from "../../kernels/dropout.ts";
import { bertAdamDefaults, type BertAdamHyper } from "../../kernels/bert_adam.ts";
import { requestGpu } from "./device.ts";
import { type Bind, GpuRuntime, GpuTensor, gpuTensor, type RuntimeOptions } from "./runtime.ts";
import type { KernelDef } from "./kernel.ts";
import { ELEMENTWISE_WG } from "./kernels/elementwise.ts";
import { FILL } from "./kernels/fill.ts";
import { COPY_STRIDED } from "./kernels/copy_strided.ts";
import { ADD } from "./kernels/add.ts";
import { MUL } from "./kernels/mul.ts";
import { AXPY } from "./kernels/axpy.ts";
import { GEMM_TILES, gemmKernel, type GemmVariant } from "./kernels/matmul.ts";
import { SUM_ROWS } from "./kernels/sum_rows.ts";
import { SUM_ROWS_PARTIAL } from "./kernels/sum_rows_partial.ts";
import { LAYERNORM } from "./kernels/layernorm.ts";
import { LAYERNORM_BACKWARD } from "./kernels/layernorm_backward.ts";
import { LAYERNORM_PARAMS_PARTIAL } from "./kernels/layernorm_params_partial.ts";
import { GELU } from "./kernels/gelu.ts";
import { GELU_WITH_GRAD } from "./kernels/gelu_with_grad.ts";
import { GELU_BACKWARD } from "./kernels/gelu_backward.ts";
import { RELU } from "./kernels/relu.ts";
import { RELU_BACKWARD } from "./kernels/relu_backward.ts";
import { TANH } from "./kernels/tanh.ts";
import { SOFTMAX } from "./kernels/softmax.ts";
import { SOFTMAX_BACKWARD } from "./kernels/softmax_backward.ts";
import { DROPOUT } from "./kernels/dropout.ts";
import { EMBEDDING } from "./kernels/embedding.ts";
import { EMBEDDING_KEYS } from "./kernels/embedding_keys.ts";
import { EMBEDDING_REGIONS_BACKWARD } from "./kernels/embedding_regions_backward.ts";
import { GATHER_ROWS } from "./kernels/gather_rows.ts";
import { SCATTER_ADD_GROUPED } from "./kernels/scatter_add_grouped.ts";
import { CROSS_ENTROPY } from "./kernels/cross_entropy.ts";
import { CROSS_ENTROPY_BACKWARD } from "./kernels/cross_entropy_backward.ts";
import { MASKED_LOSS_REDUCE } from "./kernels/masked_loss_reduce.ts";
import { BCE_PARTIAL } from "./kernels/bce_partial.ts";
import { BCE_BACKWARD } from "./kernels/bce_backward.ts";
import { REDUCE_PARTIALS } from "./kernels/reduce_partials.ts";
import { SUM_SQUARES_PARTIAL } from "./kernels/sum_squares_partial.ts";
import { BERT_ADAM } from "./kernels/bert_adam.ts";
import { BERT_ADAM_GROUP } from "./kernels/bert_adam_group.ts";
import { BERT_ADAM_GROUP_PARTIAL, GROUP_TAB_WORDS } from "./kernels/bert_adam_group_partial.ts";
import { partialGroups } from "./kernels/partials.ts";

/** Options of {@linkcode WebGpuBackend.create}. */
export interface WebGpuOptions extends RuntimeOptions {
  powerPreference?: GPUPowerPreference;
  /** Force one GEMM tile variant (tests); default: by problem size. */
  gemmTile?: GemmVariant["tile"];
  /** The tile of every product of at least 128×128 (default: by transpose case, see `GEMM_TILES`). */
  gemmLargeTile?: GemmVariant["tile"];
  /** Split-K for GEMMs with few output tiles and a long k (default on). */
  splitK?: boolean;
}

/** The argument object of a backend operation. */
type Args<K extends keyof Backend> = Backend[K] extends (a: infer A) => unknown ? A : never;

/** Rows per chunk of the two-stage column sums. */
const CHUNK_ROWS = 64;

/** Elements per workgroup of the grouped BertAdam kernels. */
const ADAM_GROUP_CHUNK = 256 * 32;

/** The four tensors of BertAdam, in the order of the group kernels' tables. */
const ADAM_ROLES = ["param", "grad", "m", "v"] as const;

/** One tensor of a grouped BertAdam call. */
interface AdamItem {
  param: GpuTensor;
  grad: GpuTensor;
  m: GpuTensor;
  v: GpuTensor;
  weightDecay: number;
  n: number;
}

/** Consecutive tensors on the same four buffers, and the element range [lo, hi) they span per role. */
interface AdamGroup {
  items: AdamItem[];
  lo: number[];
  hi: number[];
}

/** The tables of one group of BertAdam tensors that share their four buffers (cached by layout). */
interface AdamGroupPlan {
  /** spans binding the group's param, grad, m and v ranges */
  spans: { param: GpuTensor; grad: GpuTensor; m: GpuTensor; v: GpuTensor };
  /** per tensor: offsets, size, first chunk, chunks, weight decay (kernels/bert_adam_group_partial.ts) */
  tab: GpuTensor;
  /** the tensor of each chunk */
  chunkTensor: GpuTensor;
  chunks: number;
}

function sameSize(op: string, ...ts: Tensor[]): number {
  const n = ts[0].size;
  for (const t of ts) {
    if (t.size !== n) {
      throw new TypeError(
        `Cannot run ${op}: sizes differ (${ts.map((u) => fmtShape(u.shape)).join(" vs ")})`,
      );
    }
  }
  return n;
}

function f32Bits(v: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, v, true);
  return b.getUint32(0, true);
}

/** The uniforms of the BertAdam kernels (`ADAM_UNIFORMS`); 1 − β in float64 on the host. */
function adamUniforms(h: Required<BertAdamHyper>): Record<string, number> {
  return {
    lr: h.lr,
    b1: h.beta1,
    one_minus_b1: 1 - h.beta1,
    b2: h.beta2,
    one_minus_b2: 1 - h.beta2,
    eps: h.eps,
    max_norm: h.maxGradNorm,
  };
}

/** A range of a tensor as a binding. */
function range(t: GpuTensor, lo: number, hi: number): Bind {
  return { t, lo, hi };
}

/** WebGPU implementation of {@linkcode Backend} (float32). */
export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  readonly floatType = "float32" as const;
  /** The runtime (device, pools, recording). */
  readonly rt: GpuRuntime;
  readonly #opts: WebGpuOptions;
  /** tables of the grouped BertAdam, by layout */
  readonly #adamPlans = new Map<string, AdamGroupPlan>();
  /** elements one binding may span (minus alignment slack) */
  readonly #maxElems: number;

  private constructor(rt: GpuRuntime, opts: WebGpuOptions) {
    this.rt = rt;
    this.#opts = opts;
    this.#maxElems = Math.max(64, Math.floor((rt.maxBindingBytes - 256) / 4));
  }

  /** Acquire an adapter and device (throws `NoAdapterError` with install hints when there is none). */
  static async create(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
    const gpu = await requestGpu({ powerPreference: opts.powerPreference });
    return new WebGpuBackend(new GpuRuntime(gpu, opts), opts);
  }

  /** The adapter's name, e.g. "NVIDIA H100 80GB HBM3". */
  get adapterName(): string {
    return this.rt.gpu.adapterName;
  }

  /** Whether float16 tensors ({@linkcode allocF16}) are available. */
  get hasF16(): boolean {
    return this.rt.gpu.f16;
  }

  /** Release every buffer and the device. */
  destroy(): void {
    this.rt.destroy();
  }

  // ---- memory -------------------------------------------------------------------------------------------

  alloc(shape: readonly number[], dtype: DType = "float"): Tensor {
    return this.rt.alloc(shape, dtype, dtype === "int32" ? "i32" : "f32");
  }

  /** A zero-filled float16 tensor (only `matmul` inputs, `write`, `read`, `view` and `free` accept it). */
  allocF16(shape: readonly number[]): Tensor {
    if (!this.hasF16) throw new Error("Cannot allocate a float16 tensor: the adapter lacks shader-f16");
    return this.rt.alloc(shape, "float", "f16");
  }

  view(t: Tensor, offset: number, shape: readonly number[]): Tensor {
    const g = gpuTensor(t);
    const n = numel(shape);
    if (!(Number.isInteger(offset) && offset >= 0 && offset + n <= g.size)) {
      throw new RangeError(
        `Cannot view ${fmtShape(shape)} at offset ${offset} of a tensor with ${g.size} elements`,
      );
    }
    return new GpuTensor(g.storage, g.offset + offset, shape, g.dtype, g.elem, true);
  }

  write(t: Tensor, data: ArrayLike<number>): void {
    this.rt.write(gpuTensor(t), data);
  }

  async read(t: Tensor): Promise<HostArray> {
    const r = await this.rt.read(gpuTensor(t));
    return r instanceof Float16Array ? Float32Array.from(r) : r;
  }

  free(t: Tensor): void {
    this.rt.free(gpuTensor(t));
  }

  sync(): Promise<void> {
    return this.rt.sync();
  }

  // ---- dispatch helpers ---------------------------------------------------------------------------------

  /** Run an element-wise kernel over n elements of every tensor in `ts`, in binding-sized ranges. */
  #elementwise(
    k: KernelDef,
    ts: Record<string, GpuTensor>,
    n: number,
    uniforms: (start: number) => Record<string, number> = () => ({}),
  ): void {
    for (let s = 0; s < n; s += this.#maxElems) {
      const e = Math.min(n, s + this.#maxElems);
      const binds: Record<string, Bind> = {};
      for (const [name, t] of Object.entries(ts)) binds[name] = range(t, s, e);
      this.rt.dispatch(k, binds, { n: e - s, ...uniforms(s) }, Math.ceil((e - s) / ELEMENTWISE_WG));
    }
  }

  /** Split `rows` rows of width `width` into parts that fit a binding. */
  #rowParts(op: string, rows: number, width: number): [number, number][] {
    const per = Math.floor(this.#maxElems / Math.max(1, width));
    if (per < 1) {
      throw new RangeError(
        `Cannot run ${op}: one row of ${width} elements exceeds the storage binding limit`,
      );
    }
    const parts: [number, number][] = [];
    for (let r = 0; r < rows; r += per) parts.push([r, Math.min(rows, r + per)]);
    return parts;
  }

  /** A view of `n` elements at element `offset` of `t`. */
  #sub(t: GpuTensor, offset: number, n: number): GpuTensor {
    return new GpuTensor(t.storage, t.offset + offset, [n], t.dtype, t.elem, true);
  }

  // ---- copies and element-wise --------------------------------------------------------------------------

  fill(t: Tensor, value: number): void {
    const g = gpuTensor(t);
    const bits = g.dtype === "int32" ? value >>> 0 : f32Bits(value);
    this.#elementwise(FILL, { out: g }, g.size, () => ({ bits }));
  }

  copy(src: Tensor, dst: Tensor): void {
    const n = sameSize("copy", src, dst);
    const s = gpuTensor(src), d = gpuTensor(dst);
    if (n === 0) return;
    if (s.storage !== d.storage && s.elem !== "f16" && d.elem !== "f16") this.rt.copyBuffer(s, d, n);
    else this.copyStrided({ src, dst, shape: [1, 1, n], srcStride: [0, 0], dstStride: [0, 0] });
  }

  copyStrided({ src, dst, shape, srcStride, dstStride }: Args<"copyStrided">): void {
    const s = gpuTensor(src), d = gpuTensor(dst);
    const [n0, n1, w] = shape;
    if (n0 === 0 || n1 === 0 || w === 0) return;
    const span = (st: readonly [number, number]) => (n0 - 1) * st[0] + (n1 - 1) * st[1] + w;
    const ss = span(srcStride), ds = span(dstStride);
    if (ss > s.size || ds > d.size) {
      throw new RangeError(`Cannot copy blocks ${fmtShape(shape)}: the strides address beyond the tensors`);
    }
    if (ss > this.#maxElems || ds > this.#maxElems) {
      // split the outer block dimensions, then the width
      if (n0 > 1 || n1 > 1) {
        const d0 = n0 > 1 ? 0 : 1, half = Math.floor(shape[d0] / 2);
        const first: [number, number, number] = [...shape], second: [number, number, number] = [...shape];
        first[d0] = half;
        second[d0] = shape[d0] - half;
        this.copyStrided({ src, dst, shape: first, srcStride, dstStride });
        this.copyStrided({
          src: this.#sub(s, half * srcStride[d0], s.size - half * srcStride[d0]),
          dst: this.#sub(d, half * dstStride[d0], d.size - half * dstStride[d0]),
          shape: second,
          srcStride,
          dstStride,
        });
      } else {
        for (let o = 0; o < w; o += this.#maxElems) {
          const e = Math.min(w, o + this.#maxElems);
          this.copyStrided({
            src: this.#sub(s, o, e - o),
            dst: this.#sub(d, o, e - o),
            shape: [1, 1, e - o],
            srcStride,
            dstStride,
          });
        }
      }
      return;
    }
    const n = n0 * n1 * w;
    this.rt.dispatch(
      COPY_STRIDED,
      { src: range(s, 0, ss), dst: range(d, 0, ds) },
      { n, width: w, n1, ss0: srcStride[0], ss1: srcStride[1], ds0: dstStride[0], ds1: dstStride[1] },
      Math.ceil(n / ELEMENTWISE_WG),
    );
  }

  add({ a, b, out }: Args<"add">): void {
    const n = sameSize("add", a, b, out);
    this.#elementwise(ADD, { a: gpuTensor(a), b: gpuTensor(b), out: gpuTensor(out) }, n);
  }

  mul({ a, b, out }: Args<"mul">): void {
    const n = sameSize("mul", a, b, out);
    this.#elementwise(MUL, { a: gpuTensor(a), b: gpuTensor(b), out: gpuTensor(out) }, n);
  }

  axpy({ x, y, alpha }: Args<"axpy">): void {
    const n = sameSize("axpy", x, y);
    this.#elementwise(AXPY, { x: gpuTensor(x), y: gpuTensor(y) }, n, () => ({ alpha }));
  }

  // ---- linear algebra -----------------------------------------------------------------------------------

  matmul(args: MatmulArgs): void {
    const g = normalizeMatmul(args);
    const a = gpuTensor(args.a, "matmul a"),
      b = gpuTensor(args.b, "matmul b"),
      c = gpuTensor(args.c, "matmul c");
    if (a.elem !== b.elem) throw new TypeError(`Cannot run matmul: a is ${a.elem}, b is ${b.elem}`);
    if (c.elem !== "f32") throw new TypeError("Cannot run matmul: c must be float32");
    const bias = args.bias ? gpuTensor(args.bias, "matmul bias") : null;
    this.#matmul(g, a, b, c, bias);
  }

  /** Elements of an operand addressed by a call: (rows − 1)·ld + cols + Σ stride·(batch − 1). */
  static #span(
    rows: number,
    cols: number,
    ld: number,
    st: readonly number[],
    batch: readonly number[],
  ): number {
    if (rows === 0 || cols === 0) return 0;
    return (rows - 1) * ld + cols + st.reduce((s, v, i) => s + v * (batch[i] - 1), 0);
  }

  #matmul(g: NormalizedMatmul, a: GpuTensor, b: GpuTensor, c: GpuTensor, bias: GpuTensor | null): void {
    if (g.m === 0 || g.n === 0 || g.batch.includes(0)) return;
    const sa = WebGpuBackend.#span(g.transA ? g.k : g.m, g.transA ? g.m : g.k, g.lda, g.strideA, g.batch);
    const sb = WebGpuBackend.#span(g.transB ? g.n : g.k, g.transB ? g.k : g.n, g.ldb, g.strideB, g.batch);
    const sc = WebGpuBackend.#span(g.m, g.n, g.ldc, g.strideC, g.batch);
    const max = this.#maxElems;
    const tile = GEMM_TILES[this.#tile(g)];
    const maxDim = this.rt.maxWorkgroupsPerDim;
    const fits = sa * a.elemBytes <= max * 4 && sb * b.elemBytes <= max * 4 && sc <= max;
    if (fits && Math.ceil(g.n / tile.bn) <= maxDim && Math.ceil(g.m / tile.bm) <= maxDim) {
      if (this.#splitK(g, a, b, c, bias)) return;
      return this.#gemm(
        g,
        this.#sub(a, 0, Math.max(1, sa)),
        this.#sub(b, 0, Math.max(1, sb)),
        this.#sub(c, 0, sc),
        bias,
      );
    }
    // split a batch dimension first
    const d = g.batch.findIndex((v) => v > 1);
    if (d >= 0 && !fits) {
      const half = Math.floor(g.batch[d] / 2);
      const b1 = [...g.batch] as [number, number, number], b2 = [...g.batch] as [number, number, number];
      b1[d] = half;
      b2[d] = g.batch[d] - half;
      this.#matmul({ ...g, batch: b1 }, a, b, c, bias);
      this.#matmul(
        { ...g, batch: b2 },
        this.#sub(a, half * g.strideA[d], a.size - half * g.strideA[d]),
        this.#sub(b, half * g.strideB[d], b.size - half * g.strideB[d]),
        this.#sub(c, half * g.strideC[d], c.size - half * g.strideC[d]),
        bias,
      );
      return;
    }
    // then m, n or k, depending on which operand is too large
    const tooBig = (s: number, t: GpuTensor) => s * t.elemBytes > max * 4;
    let dim: "m" | "n" | "k";
    if (Math.ceil(g.m / tile.bm) > maxDim) dim = "m";
    else if (Math.ceil(g.n / tile.bn) > maxDim) dim = "n";
    else if (tooBig(sa, a)) dim = g.transA ? "k" : "m";
    else if (tooBig(sb, b)) dim = g.transB ? "n" : "k";
    else dim = "m";
    const size = g[dim];
    if (size < 2) {
      throw new RangeError(
        `Cannot run matmul (m=${g.m}, n=${g.n}, k=${g.k}): one row of an operand exceeds the storage binding limit`,
      );
    }
    const h = size >= 256 ? Math.floor(size / 256) * 128 : Math.floor(size / 2);
    if (dim === "m") {
      this.#matmul({ ...g, m: h }, a, b, c, bias);
      const ao = g.transA ? h : h * g.lda;
      this.#matmul(
        { ...g, m: g.m - h },
        this.#sub(a, ao, a.size - ao),
        b,
        this.#sub(c, h * g.ldc, c.size - h * g.ldc),
        bias,
      );
    } else if (dim === "n") {
      this.#matmul({ ...g, n: h }, a, b, c, bias);
      const bo = g.transB ? h * g.ldb : h;
      this.#matmul(
        { ...g, n: g.n - h },
        a,
        this.#sub(b, bo, b.size - bo),
        this.#sub(c, h, c.size - h),
        bias ? this.#sub(bias, h, bias.size - h) : null,
      );
    } else {
      this.#matmul({ ...g, k: h }, a, b, c, bias);
      const ao = g.transA ? h * g.lda : h, bo = g.transB ? h : h * g.ldb;
      this.#matmul(
        { ...g, k: g.k - h, beta: 1 },
        this.#sub(a, ao, a.size - ao),
        this.#sub(b, bo, b.size - bo),
        c,
        null,
      );
    }
  }

  #tile(g: NormalizedMatmul): GemmVariant["tile"] {
    if (this.#opts.gemmTile) return this.#opts.gemmTile;
    if (g.m < 128 || g.n < 128) return "small";
    return this.#opts.gemmLargeTile ?? (g.transA ? "half_n" : "large_k8");
  }

  /**
   * Split-K for a product with few output tiles and a long k (weight gradients: m×n = C×C, k = B·L): S
   * partial products over k-ranges into scratch [S, m, n], then sum_rows adds them, in order, into C.
   * Only for one batch item, contiguous C, beta ∈ {0, 1} and no bias. Returns false when it does not apply.
   */
  #splitK(g: NormalizedMatmul, a: GpuTensor, b: GpuTensor, c: GpuTensor, bias: GpuTensor | null): boolean {
    if (this.#opts.splitK === false || bias || g.ldc !== g.n || !(g.beta === 0 || g.beta === 1)) return false;
    if (g.batch[0] * g.batch[1] * g.batch[2] !== 1 || g.k < 1024) return false;
    const t = GEMM_TILES.small;
    const tiles = Math.ceil(g.m / t.bm) * Math.ceil(g.n / t.bn);
    if (tiles >= 256) return false;
    const S = Math.min(8, Math.ceil(256 / tiles), Math.floor(g.k / 256));
    if (S < 2 || S * g.m * g.n > this.#maxElems) return false;
    const kc = Math.ceil(g.k / S / 16) * 16;
    const scratch = this.rt.scratch(S * g.m * g.n);
    let parts = 0;
    for (let s = 0, k0 = 0; k0 < g.k; s++, k0 += kc) {
      const kk = Math.min(kc, g.k - k0);
      const ao = g.transA ? k0 * g.lda : k0, bo = g.transB ? k0 : k0 * g.ldb;
      this.#gemm(
        { ...g, k: kk, beta: 0, ldc: g.n },
        this.#sub(a, ao, a.size - ao),
        this.#sub(b, bo, b.size - bo),
        this.#sub(scratch, s * g.m * g.n, g.m * g.n),
        null,
      );
      parts++;
    }
    const n = g.m * g.n;
    this.rt.dispatch(
      SUM_ROWS,
      { x: range(scratch, 0, parts * n), out: range(c, 0, n) },
      { rows: parts, n, accumulate: g.beta },
      Math.ceil(n / 256),
    );
    this.rt.free(scratch);
    return true;
  }

  /** One GEMM whose operands fit their bindings: dispatches of ≤ 65,535 batch items each. */
  #gemm(g: NormalizedMatmul, a: GpuTensor, b: GpuTensor, c: GpuTensor, bias: GpuTensor | null): void {
    const tile = this.#tile(g);
    const t = GEMM_TILES[tile];
    const k = gemmKernel({
      transA: g.transA,
      transB: g.transB,
      tile,
      elem: a.elem === "f16" ? "f16" : "f32",
    });
    const items = g.batch[0] * g.batch[1] * g.batch[2];
    const gx = Math.ceil(g.n / t.bn), gy = Math.ceil(g.m / t.bm);
    const maxDim = this.rt.maxWorkgroupsPerDim;
    for (let z0 = 0; z0 < items; z0 += maxDim) {
      const gz = Math.min(maxDim, items - z0);
      this.rt.dispatch(
        k,
        { a, b, c, bias: bias ?? this.rt.dummy("f32") },
        {
          m: g.m,
          n: g.n,
          k: g.k,
          lda: g.lda,
          ldb: g.ldb,
          ldc: g.ldc,
          alpha: g.alpha,
          beta: g.beta,
          has_bias: bias ? 1 : 0,
          z_base: z0,
          nb1: g.batch[1],
          nb2: g.batch[2],
          sa0: g.strideA[0],
          sa1: g.strideA[1],
          sa2: g.strideA[2],
          sb0: g.strideB[0],
          sb1: g.strideB[1],
          sb2: g.strideB[2],
          sc0: g.strideC[0],
          sc1: g.strideC[1],
          sc2: g.strideC[2],
        },
        [gx, gy, gz],
      );
    }
  }

  sumRows({ x, out, accumulate = false }: Args<"sumRows">): void {
    const xs = gpuTensor(x), o = gpuTensor(out), n = o.size;
    if (n === 0 || xs.size % n !== 0) {
      throw new TypeError(`Cannot sum rows: ${fmtShape(x.shape)} is not a multiple of ${n} columns`);
    }
    this.#columnSum("sumRows", xs, o, xs.size / n, n, accumulate);
  }

  /**
   * out[j] (+)= Σ_r x[r, j]: up to CHUNK_ROWS rows directly, else two-stage (chunk sums, then the chunks in
   * order). Row ranges split by the binding limit are added into `out` one after another.
   */
  #columnSum(op: string, x: GpuTensor, out: GpuTensor, rows: number, n: number, accumulate: boolean): void {
    if (rows === 0) {
      if (!accumulate) this.fill(out, 0);
      return;
    }
    const parts = this.#rowParts(op, rows, n);
    if (parts.length > 1) {
      parts.forEach(([r0, r1], i) =>
        this.#columnSum(op, this.#sub(x, r0 * n, (r1 - r0) * n), out, r1 - r0, n, i > 0 || accumulate)
      );
      return;
    }
    const acc = accumulate ? 1 : 0;
    if (rows <= CHUNK_ROWS) {
      this.rt.dispatch(
        SUM_ROWS,
        { x: range(x, 0, rows * n), out },
        { rows, n, accumulate: acc },
        Math.ceil(n / 256),
      );
      return;
    }
    const chunks = Math.ceil(rows / CHUNK_ROWS);
    const partial = this.rt.scratch(chunks * n);
    this.rt.dispatch(
      SUM_ROWS_PARTIAL,
      { x: range(x, 0, rows * n), partial },
      { rows, n, chunk_rows: CHUNK_ROWS, chunks },
      Math.ceil((chunks * n) / 256),
    );
    this.rt.dispatch(SUM_ROWS, { x: partial, out }, { rows: chunks, n, accumulate: acc }, Math.ceil(n / 256));
    this.rt.free(partial);
  }

  // ---- layers -------------------------------------------------------------------------------------------

  layernorm({ x, weight, bias, out, mean, rstd, eps }: Args<"layernorm">): void {
    sameSize("layernorm", x, out);
    const c = weight.size;
    if (x.size !== mean.size * c || mean.size !== rstd.size || bias.size !== c) {
      throw new TypeError(
        `Cannot run layernorm: x ${fmtShape(x.shape)}, C ${c}, mean ${fmtShape(mean.shape)}`,
      );
    }
    const [xs, os, ms, rs] = [x, out, mean, rstd].map((t) => gpuTensor(t));
    const w = gpuTensor(weight), b = gpuTensor(bias);
    for (const [r0, r1] of this.#rowParts("layernorm", mean.size, c)) {
      this.rt.dispatch(
        LAYERNORM,
        {
          x: range(xs, r0 * c, r1 * c),
          weight: w,
          bias: b,
          out: range(os, r0 * c, r1 * c),
          mean: range(ms, r0, r1),
          rstd: range(rs, r0, r1),
        },
        { rows: r1 - r0, c, eps },
        r1 - r0,
      );
    }
  }

  layernormBackward(
    { dout, x, mean, rstd, weight, dx, dweight, dbias, accumulate = false }: Args<"layernormBackward">,
  ): void {
    sameSize("layernormBackward", dout, x, dx);
    const c = weight.size, rows = mean.size;
    if (rows === 0) return;
    if (x.size !== rows * c || dweight.size !== c || dbias.size !== c) {
      throw new TypeError(
        `Cannot run layernormBackward: x ${fmtShape(x.shape)}, C ${c}, mean ${fmtShape(mean.shape)}`,
      );
    }
    const [dy, xs, ms, rs, dxs] = [dout, x, mean, rstd, dx].map((t) => gpuTensor(t));
    const w = gpuTensor(weight);
    // per part of rows: dx (one workgroup per row), then dweight and dbias as per-chunk partial sums
    // [chunks, C] each, added chunk by chunk in order
    for (const [r0, r1] of this.#rowParts("layernormBackward", rows, c)) {
      const n = r1 - r0, chunks = Math.ceil(n / CHUNK_ROWS);
      const rowsOf = {
        dout: range(dy, r0 * c, r1 * c),
        x: range(xs, r0 * c, r1 * c),
        mean: range(ms, r0, r1),
        rstd: range(rs, r0, r1),
      };
      this.rt.dispatch(
        LAYERNORM_BACKWARD,
        { ...rowsOf, weight: w, dx: range(dxs, r0 * c, r1 * c) },
        { rows: n, c, accumulate: accumulate ? 1 : 0 },
        n,
      );
      const pw = this.rt.scratch(chunks * c), pb = this.rt.scratch(chunks * c);
      this.rt.dispatch(
        LAYERNORM_PARAMS_PARTIAL,
        { ...rowsOf, partial_w: pw, partial_b: pb },
        { rows: n, c, chunk_rows: CHUNK_ROWS, chunks },
        Math.ceil((chunks * c) / 256),
      );
      this.#columnSum("layernormBackward", pw, gpuTensor(dweight), chunks, c, true);
      this.#columnSum("layernormBackward", pb, gpuTensor(dbias), chunks, c, true);
      this.rt.free(pw);
      this.rt.free(pb);
    }
  }

  gelu({ x, out, grad }: Args<"gelu">): void {
    const n = sameSize("gelu", x, out, ...(grad ? [grad] : []));
    if (grad) {
      this.#elementwise(GELU_WITH_GRAD, { x: gpuTensor(x), out: gpuTensor(out), grad: gpuTensor(grad) }, n);
    } else this.#elementwise(GELU, { x: gpuTensor(x), out: gpuTensor(out) }, n);
  }

  geluBackward({ x, dout, dx }: Args<"geluBackward">): void {
    const n = sameSize("geluBackward", x, dout, dx);
    this.#elementwise(GELU_BACKWARD, { x: gpuTensor(x), dout: gpuTensor(dout), dx: gpuTensor(dx) }, n);
  }

  relu({ x, out }: Args<"relu">): void {
    this.#elementwise(RELU, { x: gpuTensor(x), out: gpuTensor(out) }, sameSize("relu", x, out));
  }

  reluBackward({ y, dout, dx }: Args<"reluBackward">): void {
    const n = sameSize("reluBackward", y, dout, dx);
    this.#elementwise(RELU_BACKWARD, { y: gpuTensor(y), dout: gpuTensor(dout), dx: gpuTensor(dx) }, n);
  }

  tanh({ x, out }: Args<"tanh">): void {
    this.#elementwise(TANH, { x: gpuTensor(x), out: gpuTensor(out) }, sameSize("tanh", x, out));
  }

  softmax({ x, mask, out }: Args<"softmax">): void {
    sameSize("softmax", x, out);
    const [, heads, lq, lk] = x.shape;
    if (x.shape.length !== 4 || mask.size * heads !== x.size || mask.shape.at(-1) !== lk) {
      throw new TypeError(
        `Cannot run softmax: x ${fmtShape(x.shape)} must be [S, NH, Lq, Lk] with mask [S, Lq, Lk], got mask ${
          fmtShape(mask.shape)
        }`,
      );
    }
    const xs = gpuTensor(x), os = gpuTensor(out), ms = gpuTensor(mask);
    for (const [r0, r1] of this.#rowParts("softmax", x.size / lk, lk)) {
      this.rt.dispatch(
        SOFTMAX,
        { x: range(xs, r0 * lk, r1 * lk), mask: ms, out: range(os, r0 * lk, r1 * lk) },
        { rows: r1 - r0, row_base: r0, heads, lq, lk },
        r1 - r0,
      );
    }
  }

  softmaxBackward({ p, dp, dx }: Args<"softmaxBackward">): void {
    sameSize("softmaxBackward", p, dp, dx);
    const lk = p.shape.at(-1)!;
    const [ps, dps, dxs] = [p, dp, dx].map((t) => gpuTensor(t));
    for (const [r0, r1] of this.#rowParts("softmaxBackward", p.size / lk, lk)) {
      const r = (t: GpuTensor) => range(t, r0 * lk, r1 * lk);
      this.rt.dispatch(
        SOFTMAX_BACKWARD,
        { p: r(ps), dp: r(dps), dx: r(dxs) },
        { rows: r1 - r0, lk },
        r1 - r0,
      );
    }
  }

  dropout({ x, out, p, seed }: Args<"dropout">): void {
    this.#dropout(gpuTensor(x), gpuTensor(out), p, seed, sameSize("dropout", x, out));
  }

  dropoutBackward({ dout, dx, p, seed }: Args<"dropoutBackward">): void {
    this.#dropout(gpuTensor(dout), gpuTensor(dx), p, seed, sameSize("dropoutBackward", dout, dx));
  }

  #dropout(x: GpuTensor, out: GpuTensor, p: number, seed: number, n: number): void {
    const threshold = dropoutThreshold(p), scale = 1 / (1 - p);
    this.#elementwise(DROPOUT, { x, out }, n, (base) => ({ base, seed: seed >>> 0, threshold, scale }));
  }

  embedding(a: EmbeddingArgs): void {
    const [B, L, C] = a.out.shape;
    const R = a.regions ? a.regions.shape[1] : 0;
    if (
      a.ids.size !== B * L || a.segmentIds.size !== B * L || (a.regions && a.regions.size !== B * R * C) ||
      (a.regions && a.regionPos?.size !== B * R * C) || (a.positionIds && a.positionIds.size !== B * L)
    ) {
      throw new TypeError(`Cannot embed: out ${fmtShape(a.out.shape)}, ids ${fmtShape(a.ids.shape)}`);
    }
    const dummy = this.rt.dummy("f32");
    const n = B * L * C;
    this.rt.dispatch(
      EMBEDDING,
      {
        ids: gpuTensor(a.ids),
        seg: gpuTensor(a.segmentIds),
        position_ids: a.positionIds ? gpuTensor(a.positionIds) : this.rt.dummy("i32"),
        wte: gpuTensor(a.wte),
        wpe: gpuTensor(a.wpe),
        wtt: gpuTensor(a.wtt),
        regions: a.regions ? gpuTensor(a.regions) : dummy,
        region_pos: a.regionPos ? gpuTensor(a.regionPos) : dummy,
        out: gpuTensor(a.out),
      },
      {
        n,
        l: L,
        c: C,
        r: R,
        pos_offset: a.posOffset,
        has_pos_ids: a.positionIds ? 1 : 0,
        nvocab: a.wte.size / C,
        npos: a.wpe.size / C,
        ntype: a.wtt.size / C,
      },
      Math.ceil(n / ELEMENTWISE_WG),
      "token id, segment id or position",
    );
  }

  embeddingBackward(a: EmbeddingBackwardArgs): void {
    const [B, L, C] = a.dout.shape;
    const R = a.dregions ? a.dregions.shape[1] : 0;
    const N = B * L;
    const dout = gpuTensor(a.dout);
    const keys = this.rt.scratch(3 * N, "i32");
    this.rt.dispatch(
      EMBEDDING_KEYS,
      {
        ids: gpuTensor(a.ids),
        seg: gpuTensor(a.segmentIds),
        position_ids: a.positionIds ? gpuTensor(a.positionIds) : this.rt.dummy("i32"),
        keys,
      },
      { n: N, l: L, r: R, pos_offset: a.posOffset, has_pos_ids: a.positionIds ? 1 : 0 },
      Math.ceil(N / ELEMENTWISE_WG),
    );
    const tables: [GpuTensor, string][] = [[gpuTensor(a.dwte), "token id"], [gpuTensor(a.dwpe), "position"], [
      gpuTensor(a.dwtt),
      "segment id",
    ]];
    tables.forEach(([table, what], i) => {
      this.#scatterGrouped(dout, range(keys, i * N, (i + 1) * N), table, N, N, table.size / C, C, what);
    });
    this.rt.free(keys);
    if (a.dregions && a.dregionPos) {
      const n = B * R * C;
      this.rt.dispatch(
        EMBEDDING_REGIONS_BACKWARD,
        { dout, dregions: gpuTensor(a.dregions), dregion_pos: gpuTensor(a.dregionPos) },
        { n, l: L, c: C, r: R },
        Math.ceil(n / ELEMENTWISE_WG),
      );
    }
  }

  /** dst[group·M + key, :] += src rows with that key (deterministic, see scatter_add_grouped.ts). */
  #scatterGrouped(
    src: GpuTensor,
    keys: Bind,
    dst: GpuTensor,
    rows: number,
    group: number,
    m: number,
    d: number,
    what: string,
  ): void {
    this.rt.dispatch(SCATTER_ADD_GROUPED, { src, keys, dst }, { rows, group, m, d }, rows, what);
  }

  gatherRows({ x, index, out }: Args<"gatherRows">): void {
    const bx = index.shape[0], d = x.shape.at(-1)!;
    if (out.size !== index.size * d || x.shape[0] !== bx) {
      throw new TypeError(
        `Cannot gather rows: x ${fmtShape(x.shape)}, index ${fmtShape(index.shape)}, out ${
          fmtShape(out.shape)
        }`,
      );
    }
    const n = out.size;
    this.rt.dispatch(
      GATHER_ROWS,
      { x: gpuTensor(x), index: gpuTensor(index), out: gpuTensor(out) },
      { n, d, p: index.size / bx, m: x.size / (bx * d) },
      Math.ceil(n / ELEMENTWISE_WG),
      "row index",
    );
  }

  scatterAddRows({ dout, index, dx }: Args<"scatterAddRows">): void {
    const bx = index.shape[0], d = dx.shape.at(-1)!;
    if (dout.size !== index.size * d || dx.shape[0] !== bx) {
      throw new TypeError(
        `Cannot scatter rows: dout ${fmtShape(dout.shape)}, index ${fmtShape(index.shape)}, dx ${
          fmtShape(dx.shape)
        }`,
      );
    }
    const p = index.size / bx;
    this.#scatterGrouped(
      gpuTensor(dout),
      gpuTensor(index),
      gpuTensor(dx),
      index.size,
      p,
      dx.size / (bx * d),
      d,
      "row index",
    );
  }

  // ---- losses -------------------------------------------------------------------------------------------

  /** Label-smoothing constants (float64 on the host): qt, qo, Σ q log q. */
  static #smoothing(eps: number, v: number): { qt: number; qo: number; qlogq: number } {
    const qt = 1 - eps, qo = eps / (v - 2);
    const qlogq = (qt > 0 ? qt * Math.log(qt) : 0) + (qo > 0 ? (v - 2) * qo * Math.log(qo) : 0);
    return { qt, qo, qlogq };
  }

  crossEntropy({ logits, targets, losses, smoothing = 0 }: Args<"crossEntropy">): void {
    const rows = sameSize("crossEntropy", targets, losses), v = logits.size / rows;
    const sm = smoothing > 0 ? WebGpuBackend.#smoothing(smoothing, v) : { qt: 1, qo: 0, qlogq: 0 };
    const [xs, ts, ls] = [logits, targets, losses].map((t) => gpuTensor(t));
    for (const [r0, r1] of this.#rowParts("crossEntropy", rows, v)) {
      this.rt.dispatch(
        CROSS_ENTROPY,
        { logits: range(xs, r0 * v, r1 * v), targets: range(ts, r0, r1), losses: range(ls, r0, r1) },
        { rows: r1 - r0, v, smoothing: smoothing > 0 ? 1 : 0, ...sm },
        r1 - r0,
        "target",
      );
    }
  }

  crossEntropyBackward(
    { logits, targets, dlosses, dlogits, smoothing = 0 }: Args<"crossEntropyBackward">,
  ): void {
    sameSize("crossEntropyBackward", logits, dlogits);
    const rows = sameSize("crossEntropyBackward", targets, dlosses), v = logits.size / rows;
    const { qt, qo } = smoothing > 0 ? WebGpuBackend.#smoothing(smoothing, v) : { qt: 1, qo: 0 };
    const [xs, ts, gs, dxs] = [logits, targets, dlosses, dlogits].map((t) => gpuTensor(t));
    for (const [r0, r1] of this.#rowParts("crossEntropyBackward", rows, v)) {
      this.rt.dispatch(
        CROSS_ENTROPY_BACKWARD,
        {
          logits: range(xs, r0 * v, r1 * v),
          targets: range(ts, r0, r1),
          dlosses: range(gs, r0, r1),
          dlogits: range(dxs, r0 * v, r1 * v),
        },
        { rows: r1 - r0, v, smoothing: smoothing > 0 ? 1 : 0, qt, qo },
        r1 - r0,
      );
    }
  }

  maskedLossReduce(
    { losses, weights, out, coef, dropWorstRatio, scale = 1, normalizer }: Args<"maskedLossReduce">,
  ): void {
    sameSize("maskedLossReduce", losses, weights, coef);
    const b = losses.shape[0], p = losses.size / b;
    const scratch = this.rt.scratch(3 * b);
    this.rt.dispatch(
      MASKED_LOSS_REDUCE,
      {
        losses: gpuTensor(losses),
        weights: gpuTensor(weights),
        out: gpuTensor(out),
        coef: gpuTensor(coef),
        scratch,
      },
      {
        b,
        p,
        keep: Math.floor(b * (1 - dropWorstRatio)),
        scale,
        has_normalizer: normalizer === undefined ? 0 : 1,
        normalizer: normalizer ?? 0,
      },
      1,
    );
    this.rt.free(scratch);
  }

  bceWithLogits({ logits, targets, out }: Args<"bceWithLogits">): void {
    const n = sameSize("bceWithLogits", logits, targets);
    const b = logits.shape[0];
    const [xs, ys] = [logits, targets].map((t) => gpuTensor(t));
    const parts = this.#partialSums(BCE_PARTIAL, { logits: xs, targets: ys }, n);
    this.rt.dispatch(REDUCE_PARTIALS, { partial: parts.partial, out: gpuTensor(out) }, {
      groups: parts.count,
      scale: 1 / b,
    }, 1);
    this.rt.free(parts.partial);
  }

  /** Stage 1 of a two-stage sum over n elements of `ts`, in binding-sized ranges: the partials and their count. */
  #partialSums(
    k: KernelDef,
    ts: Record<string, GpuTensor>,
    n: number,
  ): { partial: GpuTensor; count: number } {
    const ranges: [number, number][] = [];
    for (let s = 0; s < n; s += this.#maxElems) ranges.push([s, Math.min(n, s + this.#maxElems)]);
    if (ranges.length === 0) ranges.push([0, 0]);
    const groups = ranges.map(([s, e]) => partialGroups(e - s));
    const count = groups.reduce((x, y) => x + y, 0);
    const partial = this.rt.scratch(count);
    let base = 0;
    ranges.forEach(([s, e], i) => {
      const binds: Record<string, Bind> = { partial };
      for (const [name, t] of Object.entries(ts)) binds[name] = range(t, s, e);
      this.rt.dispatch(k, binds, { n: e - s, groups: groups[i], part_base: base }, groups[i]);
      base += groups[i];
    });
    return { partial, count };
  }

  bceWithLogitsBackward({ logits, targets, dlogits, scale = 1 }: Args<"bceWithLogitsBackward">): void {
    const n = sameSize("bceWithLogitsBackward", logits, targets, dlogits);
    const g = scale / logits.shape[0];
    this.#elementwise(
      BCE_BACKWARD,
      { logits: gpuTensor(logits), targets: gpuTensor(targets), dlogits: gpuTensor(dlogits) },
      n,
      () => ({ g }),
    );
  }

  // ---- optimiser ----------------------------------------------------------------------------------------

  bertAdamUpdate({ param, grad, m, v, ...hyper }: BertAdamArgs): void {
    const n = sameSize("bertAdamUpdate", param, grad, m, v);
    const h = bertAdamDefaults(hyper);
    const ts = { param: gpuTensor(param), grad: gpuTensor(grad), m: gpuTensor(m), v: gpuTensor(v) };
    const parts = this.#partialSums(SUM_SQUARES_PARTIAL, { x: ts.grad }, n);
    for (let s = 0; s < n; s += this.#maxElems) {
      const e = Math.min(n, s + this.#maxElems);
      const groups = Math.min(1024, Math.ceil((e - s) / 256));
      this.rt.dispatch(
        BERT_ADAM,
        {
          param: range(ts.param, s, e),
          grad: range(ts.grad, s, e),
          m: range(ts.m, s, e),
          v: range(ts.v, s, e),
          partial: range(parts.partial, 0, parts.count),
        },
        { n: e - s, groups, nparts: parts.count, wd: h.weightDecay, ...adamUniforms(h) },
        groups,
      );
    }
    this.rt.free(parts.partial);
  }
  /**
   * BertAdam on many tensors. Tensors whose param, grad, m and v are views of the same four buffers (a
   * model's flat tables) go in groups whose ranges fit a binding: per group, one dispatch of partial sums
   * of g² over chunks of ADAM_GROUP_CHUNK elements and one of the update (each tensor's clip from its own
   * chunks' partials); the rest, one tensor at a time. Same arithmetic as `bertAdamUpdate`, except the
   * order in which g² is summed.
   */
  bertAdamUpdateGroup({ tensors, ...hyper }: BertAdamGroupArgs): void {
    const h = bertAdamDefaults({ ...hyper, weightDecay: 0 });
    for (const t of tensors) bertAdamDefaults({ ...hyper, weightDecay: t.weightDecay });
    const items: AdamItem[] = tensors.map((t) => ({
      param: gpuTensor(t.param),
      grad: gpuTensor(t.grad),
      m: gpuTensor(t.m),
      v: gpuTensor(t.v),
      weightDecay: t.weightDecay,
      n: sameSize("bertAdamUpdateGroup", t.param, t.grad, t.m, t.v),
    }));
    const single = ({ param, grad, m, v, weightDecay }: AdamItem) =>
      this.bertAdamUpdate({ ...hyper, param, grad, m, v, weightDecay });
    // groups: consecutive tensors on the same four storages whose spans [lo, hi) fit one binding
    const groups: AdamGroup[] = [];
    for (const it of items) {
      if (it.n === 0) continue;
      if (it.n > this.#maxElems || ADAM_ROLES.some((r) => it[r].elem !== "f32")) {
        single(it);
        continue;
      }
      const last = groups.at(-1);
      const lo = ADAM_ROLES.map((r, i) => Math.min(last?.lo[i] ?? Infinity, it[r].offset));
      const hi = ADAM_ROLES.map((r, i) => Math.max(last?.hi[i] ?? 0, it[r].offset + it.n));
      if (
        last && ADAM_ROLES.every((r, i) =>
          last.items[0][r].storage === it[r].storage &&
          hi[i] - lo[i] <= this.#maxElems
        )
      ) {
        last.items.push(it);
        last.lo = lo;
        last.hi = hi;
      } else {
        groups.push({
          items: [it],
          lo: ADAM_ROLES.map((r) => it[r].offset),
          hi: ADAM_ROLES.map((r) => it[r].offset + it.n),
        });
      }
    }
    for (const g of groups) {
      if (g.items.length === 1) {
        single(g.items[0]);
        continue;
      }
      const plan = this.#adamGroupPlan(g);
      const { param, grad, m, v } = plan.spans;
      const common = { tab: plan.tab, chunk_tensor: plan.chunkTensor };
      const partial = this.rt.scratch(plan.chunks);
      const sizes = { chunks: plan.chunks, ch: ADAM_GROUP_CHUNK };
      this.rt.dispatch(BERT_ADAM_GROUP_PARTIAL, { grad, ...common, partial }, sizes, plan.chunks);
      this.rt.dispatch(BERT_ADAM_GROUP, { param, grad, m, v, ...common, partial }, {
        ...sizes,
        ...adamUniforms(h),
      }, plan.chunks);
      this.rt.free(partial);
    }
  }

  /** Tables of a group (uploaded once per layout: tensor offsets, sizes and weight decays). */
  #adamGroupPlan({ items, lo, hi }: AdamGroup): AdamGroupPlan {
    const key = ADAM_ROLES.map((r) => `${items[0][r].storage.id}`).join(",") + ";" +
      items.map((x) => `${ADAM_ROLES.map((r) => x[r].offset).join(",")},${x.n},${x.weightDecay}`).join(";");
    const cached = this.#adamPlans.get(key);
    if (cached) return cached;
    const [param, grad, m, v] = ADAM_ROLES.map((r, i) =>
      new GpuTensor(items[0][r].storage, lo[i], [hi[i] - lo[i]], "float", "f32", true)
    );
    const spans = { param, grad, m, v };
    const tab = new Uint32Array(items.length * GROUP_TAB_WORDS);
    const owner: number[] = [];
    const bits = new DataView(new ArrayBuffer(4));
    items.forEach((x, t) => {
      const chunks = Math.ceil(x.n / ADAM_GROUP_CHUNK);
      bits.setFloat32(0, x.weightDecay, true);
      tab.set([
        ...ADAM_ROLES.map((r, i) => x[r].offset - lo[i]),
        x.n,
        owner.length,
        chunks,
        bits.getUint32(0, true),
      ], t * GROUP_TAB_WORDS);
      for (let c = 0; c < chunks; c++) owner.push(t);
    });
    const tabT = this.rt.alloc([tab.length], "int32", "i32", false);
    this.rt.write(tabT, new Int32Array(tab.buffer));
    const chunkTensor = this.rt.alloc([owner.length], "int32", "i32", false);
    this.rt.write(chunkTensor, Int32Array.from(owner));
    const plan = { spans, tab: tabT, chunkTensor, chunks: owner.length };
    if (this.#adamPlans.size >= 16) {
      for (const p of this.#adamPlans.values()) for (const t of [p.tab, p.chunkTensor]) this.rt.free(t);
      this.#adamPlans.clear();
    }
    this.#adamPlans.set(key, plan);
    return plan;
  }
}
