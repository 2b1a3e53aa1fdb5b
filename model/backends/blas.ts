/**
 * The OpenBLAS backend: the CPU backend's loops (cpu.ts, float32) with every matrix product, including the batched
 * ones of attention, as `cblas_sgemm` calls through FFI, the row sums of bias gradients as `cblas_sgemv`, and
 * GELU, softmax and dropout as WebAssembly SIMD kernels (simd.ts; `simd: false` keeps the TypeScript loops). Small products (below {@linkcode SMALL_GEMM_FLOPS})
 * run on one BLAS thread, where thread start-up would cost more than it saves.
 *
 * @example Usage
 * ```ts ignore
 * import { BlasBackend } from "@vlp/model";
 * const be = BlasBackend.tryCreate({ threads: 2 }); // null when OpenBLAS cannot be loaded
 * ```
 *
 * @module
 */
import type { MatmulArgs, Tensor } from "../backend.ts";
import { normalizeMatmul, softmaxDims } from "../backend_contract.ts";
import { CpuBackend, cpuData, forEachBatchItem } from "./cpu.ts";
import { CBLAS_NO_TRANS, CBLAS_ROW_MAJOR, CBLAS_TRANS, loadOpenBlas, type OpenBlas } from "./openblas.ts";
import { SimdKernels } from "./simd.ts";

/** Products with fewer multiply-adds than this run on one BLAS thread. */
export const SMALL_GEMM_FLOPS = 1 << 21;

/** Rows per float32 partial sum of {@linkcode BlasBackend.sumRows} (the partial sums are combined in float64). */
const SUM_ROWS_CHUNK = 32;

/** Options of {@linkcode BlasBackend}. */
export interface BlasOptions {
  /** OpenBLAS threads (default: `VLP_BLAS_THREADS`, else the library's default). */
  threads?: number;
  /** WebAssembly SIMD kernels for GELU, softmax and dropout (default true; false: plain TypeScript). */
  simd?: boolean;
}

function envThreads(): number | undefined {
  try {
    const v = Deno.env.get("VLP_BLAS_THREADS");
    if (!v) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`VLP_BLAS_THREADS must be a positive integer, got "${v}"`);
    }
    return n;
  } catch (e) {
    if (e instanceof RangeError) throw e;
    return undefined;
  }
}

/** The CPU backend with OpenBLAS GEMMs and SIMD element-wise kernels (float32 only). */
export class BlasBackend extends CpuBackend {
  readonly #blas: OpenBlas;
  readonly #threads: number;
  readonly #simd: SimdKernels | null;

  /** Use an already loaded library (see {@linkcode BlasBackend.tryCreate}). */
  constructor(blas: OpenBlas, opts: BlasOptions = {}) {
    super("blas", "float32");
    this.#blas = blas;
    const t = opts.threads ?? envThreads();
    if (t !== undefined) {
      if (!Number.isInteger(t) || t < 1) {
        throw new RangeError(`Cannot create blas backend: threads ${t} is not a positive integer`);
      }
      blas.openblas_set_num_threads(t);
    }
    this.#threads = blas.openblas_get_num_threads();
    this.#simd = opts.simd === false ? null : SimdKernels.create();
  }

  /** Whether the WebAssembly SIMD kernels are in use. */
  get simd(): boolean {
    return this.#simd !== null;
  }

  /** The backend, or null (with the reason) when OpenBLAS cannot be loaded. */
  static tryCreate(opts: BlasOptions = {}): BlasBackend | null {
    const { lib } = loadOpenBlas();
    return lib ? new BlasBackend(lib, opts) : null;
  }

  #ones = new Float32Array(0);

  /**
   * out (+)= Σ rows of x: `cblas_sgemv` (xᵀ·1) over chunks of {@linkcode SUM_ROWS_CHUNK} rows, the chunks'
   * float32 sums combined in float64 (one float32 sum over the B·R region rows of a bias gradient drifted
   * from the float64 result by more than the original's own error).
   */
  override sumRows(args: { x: Tensor; out: Tensor; accumulate?: boolean }): void {
    const x = cpuData(args.x), out = cpuData(args.out), n = args.out.size;
    if (!(x instanceof Float32Array && out instanceof Float32Array) || x.length % n !== 0 || n === 0) {
      return super.sumRows(args);
    }
    const rows = x.length / n;
    if (this.#ones.length < SUM_ROWS_CHUNK) this.#ones = new Float32Array(SUM_ROWS_CHUNK).fill(1);
    const part = new Float32Array(n), acc = new Float64Array(n);
    for (let r0 = 0; r0 < rows; r0 += SUM_ROWS_CHUNK) {
      const r = Math.min(SUM_ROWS_CHUNK, rows - r0);
      const xs = x.subarray(r0 * n, (r0 + r) * n);
      this.#blas.cblas_sgemv(CBLAS_ROW_MAJOR, CBLAS_TRANS, r, n, 1, xs, n, this.#ones, 1, 0, part, 1);
      for (let j = 0; j < n; j++) acc[j] += part[j];
    }
    // the total is rounded to float32 before it is added, so that accumulating two batches equals adding their
    // two float32 gradients (as PyTorch accumulates .grad, and as the ranks' all-reduce sums them)
    for (let j = 0; j < n; j++) out[j] = args.accumulate ? out[j] + Math.fround(acc[j]) : acc[j];
  }

  /** GELU through the SIMD kernel (float32). */
  override gelu(a: { x: Tensor; out: Tensor; grad?: Tensor }): void {
    const x = cpuData(a.x), y = cpuData(a.out), g = a.grad ? cpuData(a.grad) : null;
    if (
      !this.#simd || !(x instanceof Float32Array && y instanceof Float32Array) ||
      (g && !(g instanceof Float32Array))
    ) {
      return super.gelu(a);
    }
    if (y.length !== x.length || (g && g.length !== x.length)) return super.gelu(a); // reports the size error
    this.#simd.gelu(x, y, g as Float32Array | null);
  }

  /** Masked softmax through the SIMD kernel (float32). */
  override softmax(a: { x: Tensor; mask: Tensor; out: Tensor }): void {
    const { heads, lq, lk } = softmaxDims(a);
    const x = cpuData(a.x), mask = cpuData(a.mask), p = cpuData(a.out);
    if (
      !this.#simd || !(x instanceof Float32Array && mask instanceof Float32Array && p instanceof Float32Array)
    ) {
      return super.softmax(a);
    }
    this.#simd.softmax(x, mask, p, heads, lq, lk);
  }

  /** Dropout through the SIMD kernel (the same mask as the reference). */
  override dropout(a: { x: Tensor; out: Tensor; p: number; seed: number }): void {
    const x = cpuData(a.x), y = cpuData(a.out);
    if (!this.#simd || !(x instanceof Float32Array && y instanceof Float32Array) || x.length !== y.length) {
      return super.dropout(a);
    }
    this.#simd.dropout(x, y, a.p, a.seed);
  }

  /** Dropout backward: the forward mask applied to the gradient. */
  override dropoutBackward(a: { dout: Tensor; dx: Tensor; p: number; seed: number }): void {
    this.dropout({ x: a.dout, out: a.dx, p: a.p, seed: a.seed });
  }

  /** OpenBLAS threads used for large products. */
  get threads(): number {
    return this.#threads;
  }

  /** Every batch item as one `cblas_sgemm` call. */
  override matmul(args: MatmulArgs): void {
    const g = normalizeMatmul(args);
    const a = cpuData(args.a), b = cpuData(args.b), c = cpuData(args.c);
    if (!(a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array)) {
      throw new TypeError("Cannot run blas matmul: tensors must be float32");
    }
    const { m, n, k } = g;
    if (m === 0 || n === 0) return;
    if (k === 0) return super.matmul(args);
    const bias = args.bias ? cpuData(args.bias) as Float32Array : null;
    const beta = bias ? 1 : g.beta;
    const small = m * n * k < SMALL_GEMM_FLOPS && this.#threads > 1;
    if (small) this.#blas.openblas_set_num_threads(1);
    const ta = g.transA ? CBLAS_TRANS : CBLAS_NO_TRANS, tb = g.transB ? CBLAS_TRANS : CBLAS_NO_TRANS;
    // extents of one batch item
    const aLen = (g.transA ? k - 1 : m - 1) * g.lda + (g.transA ? m : k);
    const bLen = (g.transB ? n - 1 : k - 1) * g.ldb + (g.transB ? k : n);
    const cLen = (m - 1) * g.ldc + n;
    try {
      forEachBatchItem(g, (aOff, bOff, cOff) => {
        if (bias) {
          for (let i = 0; i < m; i++) c.set(bias.subarray(0, n), cOff + i * g.ldc);
        }
        this.#blas.cblas_sgemm(
          CBLAS_ROW_MAJOR,
          ta,
          tb,
          m,
          n,
          k,
          g.alpha,
          a.subarray(aOff, aOff + aLen),
          g.lda,
          b.subarray(bOff, bOff + bLen),
          g.ldb,
          beta,
          c.subarray(cOff, cOff + cLen),
          g.ldc,
        );
      });
    } finally {
      if (small) this.#blas.openblas_set_num_threads(this.#threads);
    }
  }
}
