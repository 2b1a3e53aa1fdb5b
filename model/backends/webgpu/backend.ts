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
 * `shader-f16`) that `matmul` accepts as `a` and `b`, or as `b` alone with a float32 `a` (products and sums
 * in float32, C in float32), and `castToF16` writes; no other operation takes them.
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
 * Where things live: this class maps each operation to its plan in ops/ (matmul.ts: GEMM variants, binding
 * and grid splits, split-K; elementwise.ts; rows.ts: column sums, LayerNorm, softmax; embedding.ts; losses.ts;
 * optimizer.ts: BertAdam and its grouped tables; fused.ts: the fused operations, `fused`; grad_sums.ts: the
 * parameter-gradient sums held back during a backward); dispatch.ts holds the dispatch helpers they share;
 * kernels/ the WGSL kernels as data (one per file); runtime.ts the buffers, recording and errors.
 *
 * @module
 */
import type {
  Backend,
  BertAdamArgs,
  BertAdamGroupArgs,
  DType,
  EmbeddingArgs,
  EmbeddingBackwardArgs,
  FusedOps,
  HostArray,
  MatmulArgs,
  Tensor,
} from "../../backend.ts";
import { type Args, checkView } from "../../backend_contract.ts";
import { requestGpu } from "./device.ts";
import { GpuRuntime, GpuTensor, gpuTensor, type RuntimeOptions } from "./runtime.ts";
import { Dispatcher } from "./dispatch.ts";
import * as elementwise from "./ops/elementwise.ts";
import * as embeddings from "./ops/embedding.ts";
import * as losses from "./ops/losses.ts";
import { type GemmOptions, matmul } from "./ops/matmul.ts";
import { BertAdamGroups, bertAdamUpdate } from "./ops/optimizer.ts";
import * as rows from "./ops/rows.ts";
import { GpuFusedOps } from "./ops/fused.ts";
import * as half from "./ops/half.ts";
import { gemmTableFromFile } from "./ops/gemm_table.ts";

/** An environment variable, or undefined where it is unset or env access is not granted. */
function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: the defaults
  }
}

/** The tile table of the file named by `VLP_GEMM_TILES` (a sweep's record), if set. */
function gemmTableFromEnv() {
  const file = envVar("VLP_GEMM_TILES");
  return file ? gemmTableFromFile(file) : undefined;
}

/** Options of {@linkcode WebGpuBackend.create}. */
export interface WebGpuOptions extends RuntimeOptions, GemmOptions {
  powerPreference?: GPUPowerPreference;
  /** Offer the fused operations (ops/fused.ts; default true). false: the model runs their unfused twins. */
  fuse?: boolean;
}

/** WebGPU implementation of {@linkcode Backend} (float32). */
export class WebGpuBackend implements Backend {
  readonly name = "webgpu";
  readonly floatType = "float32" as const;
  /** The runtime (device, pools, recording). */
  readonly rt: GpuRuntime;
  readonly #gemm: GemmOptions;
  readonly #d: Dispatcher;
  readonly #adamGroups: BertAdamGroups;
  /** The fused operations (absent with `fuse: false`). */
  readonly fused?: FusedOps;
  readonly #fusedOps?: GpuFusedOps;

  private constructor(rt: GpuRuntime, opts: WebGpuOptions) {
    this.rt = rt;
    this.#gemm = {
      gemmTile: opts.gemmTile,
      gemmLargeTile: opts.gemmLargeTile,
      gemmTable: opts.gemmTable ?? gemmTableFromEnv(),
      gemmVec4: opts.gemmVec4,
      splitK: opts.splitK,
      gemmPair: opts.gemmPair,
      // VLP_GEMM_HALF_MATH=1: every command's --fp16 GEMMs in float16 math (a measured choice, off by default)
      gemmHalfMath: opts.gemmHalfMath ?? envVar("VLP_GEMM_HALF_MATH") === "1",
    };
    this.#d = new Dispatcher(rt);
    this.#adamGroups = new BertAdamGroups(this.#d);
    if (opts.fuse !== false) this.fused = this.#fusedOps = new GpuFusedOps(this.#d, this.#gemm);
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

  /** dst (a float16 tensor) = src (float32), saturated at ±65504: the weight copy of --fp16 (ops/half.ts). */
  castToF16(src: Tensor, dst: Tensor): void {
    half.castToF16(this.#d, src, dst);
  }

  /** out [1] = how many elements of x are Inf or NaN (the overflow check of --fp16's loss scale). */
  countNonFinite(x: Tensor, out: Tensor): void {
    this.#completeSums();
    half.countNonFinite(this.#d, x, out);
  }

  /** x *= alpha in place (unscaling --fp16's loss-scaled gradients). */
  scaleInPlace(x: Tensor, alpha: number): void {
    this.#completeSums();
    half.scaleInPlace(this.#d, x, alpha);
  }

  view(t: Tensor, offset: number, shape: readonly number[]): Tensor {
    const g = gpuTensor(t);
    checkView(g, offset, shape);
    return new GpuTensor(g.storage, g.offset + offset, shape, g.dtype, g.elem, true);
  }

  write(t: Tensor, data: ArrayLike<number>): void {
    this.rt.write(gpuTensor(t), data);
  }

  /** Add the held-back gradient sums (ops/grad_sums.ts) before anything that may read a gradient. */
  #completeSums(): void {
    this.#fusedOps?.sums.flush();
  }

  async read(t: Tensor): Promise<HostArray> {
    this.#completeSums();
    const r = await this.rt.read(gpuTensor(t));
    return r instanceof Float16Array ? Float32Array.from(r) : r;
  }

  free(t: Tensor): void {
    this.rt.free(gpuTensor(t));
  }

  sync(): Promise<void> {
    this.#completeSums();
    return this.rt.sync();
  }

  // ---- copies and element-wise (ops/elementwise.ts) ------------------------------------------------------

  fill(t: Tensor, value: number): void {
    elementwise.fill(this.#d, t, value);
  }

  copy(src: Tensor, dst: Tensor): void {
    elementwise.copy(this.#d, src, dst);
  }

  copyStrided(args: Args<"copyStrided">): void {
    elementwise.copyStrided(this.#d, args);
  }

  add(args: Args<"add">): void {
    elementwise.add(this.#d, args);
  }

  mul(args: Args<"mul">): void {
    elementwise.mul(this.#d, args);
  }

  axpy(args: Args<"axpy">): void {
    elementwise.axpy(this.#d, args);
  }

  // ---- linear algebra (ops/matmul.ts, ops/rows.ts) -------------------------------------------------------

  matmul(args: MatmulArgs): void {
    matmul(this.#d, this.#gemm, args);
  }

  sumRows(args: Args<"sumRows">): void {
    rows.sumRows(this.#d, args);
  }

  // ---- layers (ops/rows.ts, ops/elementwise.ts, ops/embedding.ts) ----------------------------------------

  layernorm(args: Args<"layernorm">): void {
    rows.layernorm(this.#d, args);
  }

  layernormBackward(args: Args<"layernormBackward">): void {
    rows.layernormBackward(this.#d, args, this.#fusedOps?.sums);
  }

  gelu(args: Args<"gelu">): void {
    elementwise.gelu(this.#d, args);
  }

  geluBackward(args: Args<"geluBackward">): void {
    elementwise.geluBackward(this.#d, args);
  }

  relu(args: Args<"relu">): void {
    elementwise.relu(this.#d, args);
  }

  reluBackward(args: Args<"reluBackward">): void {
    elementwise.reluBackward(this.#d, args);
  }

  tanh(args: Args<"tanh">): void {
    elementwise.tanh(this.#d, args);
  }

  softmax(args: Args<"softmax">): void {
    rows.softmax(this.#d, args);
  }

  softmaxBackward(args: Args<"softmaxBackward">): void {
    rows.softmaxBackward(this.#d, args);
  }

  dropout(args: Args<"dropout">): void {
    elementwise.dropout(this.#d, args);
  }

  dropoutBackward(args: Args<"dropoutBackward">): void {
    elementwise.dropoutBackward(this.#d, args);
  }

  embedding(args: EmbeddingArgs): void {
    embeddings.embedding(this.#d, args);
  }

  embeddingBackward(args: EmbeddingBackwardArgs): void {
    embeddings.embeddingBackward(this.#d, args);
  }

  gatherRows(args: Args<"gatherRows">): void {
    embeddings.gatherRows(this.#d, args);
  }

  topkRows(args: Args<"topkRows">): void {
    rows.topkRows(this.#d, args);
  }

  scatterAddRows(args: Args<"scatterAddRows">): void {
    embeddings.scatterAddRows(this.#d, args);
  }

  // ---- losses (ops/losses.ts) ----------------------------------------------------------------------------

  crossEntropy(args: Args<"crossEntropy">): void {
    losses.crossEntropy(this.#d, args);
  }

  crossEntropyBackward(args: Args<"crossEntropyBackward">): void {
    losses.crossEntropyBackward(this.#d, args);
  }

  maskedLossReduce(args: Args<"maskedLossReduce">): void {
    losses.maskedLossReduce(this.#d, args);
  }

  bceWithLogits(args: Args<"bceWithLogits">): void {
    losses.bceWithLogits(this.#d, args);
  }

  bceWithLogitsBackward(args: Args<"bceWithLogitsBackward">): void {
    losses.bceWithLogitsBackward(this.#d, args);
  }

  // ---- optimiser (ops/optimizer.ts) ----------------------------------------------------------------------

  bertAdamUpdate(args: BertAdamArgs): void {
    this.#completeSums();
    bertAdamUpdate(this.#d, args);
  }

  /** Grouped BertAdam: two dispatches per group of tensors on the same four buffers (ops/optimizer.ts). */
  bertAdamUpdateGroup(args: BertAdamGroupArgs): void {
    this.#completeSums();
    this.#adamGroups.update(args);
  }
}
