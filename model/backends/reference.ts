/**
 * The reference backend: every operation of {@linkcode Backend} as plain TypeScript loops over typed arrays
 * (model/kernels/), in float32 or float64. It is the oracle for the other backends and runs the float64
 * finite-difference gradient checks. Work happens at call time; {@linkcode ReferenceBackend.read} returns a
 * copy.
 *
 * @example Usage
 * ```ts
 * import { ReferenceBackend } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const be = new ReferenceBackend();
 * const a = be.alloc([2, 2]), b = be.alloc([2, 2]), c = be.alloc([2, 2]);
 * be.write(a, [1, 2, 3, 4]);
 * be.write(b, [1, 0, 0, 1]);
 * be.matmul({ a, b, c, m: 2, n: 2, k: 2 });
 * assert.deepEqual([...await be.read(c)], [1, 2, 3, 4]);
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
} from "../backend.ts";
import type { FloatArray } from "../kernels/types.ts";
import { gemm } from "../kernels/matmul.ts";
import { layernormBackward, layernormForward } from "../kernels/layernorm.ts";
import {
  geluBackward,
  geluForward,
  geluForwardWithGrad,
  reluBackward,
  reluForward,
  tanhForward,
} from "../kernels/activations.ts";
import { softmaxBackward, softmaxForward } from "../kernels/softmax.ts";
import { dropoutBackward, dropoutForward } from "../kernels/dropout.ts";
import { embeddingBackward, embeddingForward, gatherRows, scatterAddRows } from "../kernels/embedding.ts";
import {
  bceBackward,
  bceForward,
  crossEntropyBackward,
  crossEntropyForward,
  maskedLossReduce,
} from "../kernels/losses.ts";
import { bertAdamUpdate } from "../kernels/bert_adam.ts";

/** The argument object of a backend operation. */
export type Args<K extends keyof Backend> = Backend[K] extends (a: infer A) => unknown ? A : never;

/** A tensor of the CPU backends: a typed-array view of exactly `size` elements. */
export class CpuTensor implements Tensor {
  /** The elements (a view into the owning buffer for views). */
  readonly data: FloatArray | Int32Array;
  readonly shape: readonly number[];
  readonly dtype: DType;

  /** Wrap a typed array (exactly the tensor's elements) with its shape and dtype. */
  constructor(data: FloatArray | Int32Array, shape: readonly number[], dtype: DType) {
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
  }

  get size(): number {
    return this.data.length;
  }
}

/** The typed array of a CPU tensor (checked). */
export function cpuData(t: Tensor): FloatArray | Int32Array {
  if (!(t instanceof CpuTensor)) {
    throw new TypeError("Cannot use tensor: it does not belong to a CPU backend");
  }
  return t.data;
}

function f(t: Tensor): FloatArray {
  const d = cpuData(t);
  if (d instanceof Int32Array) {
    throw new TypeError(`Cannot use tensor of shape ${fmtShape(t.shape)}: expected float, got int32`);
  }
  return d;
}

function ints(t: Tensor): Int32Array {
  const d = cpuData(t);
  if (!(d instanceof Int32Array)) {
    throw new TypeError(`Cannot use tensor of shape ${fmtShape(t.shape)}: expected int32, got float`);
  }
  return d;
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

/** Matmul arguments with defaults filled in and a 3-d batch. */
export interface NormalizedMatmul {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  lda: number;
  ldb: number;
  ldc: number;
  alpha: number;
  beta: number;
  batch: [number, number, number];
  strideA: [number, number, number];
  strideB: [number, number, number];
  strideC: [number, number, number];
}

/** Fill in defaults and check that every addressed element lies inside a, b, c (throws RangeError). */
export function normalizeMatmul(g: MatmulArgs): NormalizedMatmul {
  const transA = g.transA ?? false, transB = g.transB ?? false;
  const lda = g.lda ?? (transA ? g.m : g.k);
  const ldb = g.ldb ?? (transB ? g.k : g.n);
  const ldc = g.ldc ?? g.n;
  const nb = g.batch?.length ?? 0;
  if (nb > 3) throw new RangeError(`Cannot run matmul: batch has ${nb} dims, at most 3 are supported`);
  const pad = (v: readonly number[] | undefined, fill: number): [number, number, number] => {
    const out: [number, number, number] = [fill, fill, fill];
    for (let i = 0; i < nb; i++) out[3 - nb + i] = v?.[i] ?? 0;
    return out;
  };
  const batch = pad(g.batch, 1);
  if (nb > 0) { for (let i = 0; i < nb; i++) batch[3 - nb + i] = g.batch![i]; }
  const strideA = pad(g.strideA, 0), strideB = pad(g.strideB, 0), strideC = pad(g.strideC, 0);
  const beta = g.beta ?? 0;
  if (g.bias && beta !== 0) throw new RangeError("Cannot run matmul: a bias needs beta = 0");
  const span = (rows: number, cols: number, ld: number, st: [number, number, number]) =>
    rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols + st.reduce((s, v, i) => s + v * (batch[i] - 1), 0);
  const check = (name: string, t: Tensor, need: number) => {
    if (need > t.size) {
      throw new RangeError(
        `Cannot run matmul (m=${g.m}, n=${g.n}, k=${g.k}): ${name} ${
          fmtShape(t.shape)
        } has ${t.size} elements, ` +
          `the call addresses ${need}`,
      );
    }
  };
  check("a", g.a, span(transA ? g.k : g.m, transA ? g.m : g.k, lda, strideA));
  check("b", g.b, span(transB ? g.n : g.k, transB ? g.k : g.n, ldb, strideB));
  check("c", g.c, span(g.m, g.n, ldc, strideC));
  if (g.bias && g.bias.size < g.n) {
    throw new RangeError(`Cannot run matmul: bias has ${g.bias.size} elements, n = ${g.n}`);
  }
  return {
    m: g.m,
    n: g.n,
    k: g.k,
    transA,
    transB,
    lda,
    ldb,
    ldc,
    alpha: g.alpha ?? 1,
    beta,
    batch,
    strideA,
    strideB,
    strideC,
  };
}

/** Call `fn(aOff, bOff, cOff)` with the element offsets of every batch item of a matmul. */
export function forEachBatchItem(
  g: NormalizedMatmul,
  fn: (aOff: number, bOff: number, cOff: number) => void,
): void {
  const [n0, n1, n2] = g.batch, sa = g.strideA, sb = g.strideB, sc = g.strideC;
  for (let i0 = 0; i0 < n0; i0++) {
    for (let i1 = 0; i1 < n1; i1++) {
      for (let i2 = 0; i2 < n2; i2++) {
        fn(
          i0 * sa[0] + i1 * sa[1] + i2 * sa[2],
          i0 * sb[0] + i1 * sb[1] + i2 * sb[2],
          i0 * sc[0] + i1 * sc[1] + i2 * sc[2],
        );
      }
    }
  }
}

/** Plain TypeScript backend, float32 (default) or float64. */
export class ReferenceBackend implements Backend {
  readonly name: string;
  readonly floatType: "float32" | "float64";

  /** `precision: "float64"` makes every float tensor a Float64Array (for gradient checks). */
  constructor(opts: { precision?: "float32" | "float64" } = {}) {
    this.floatType = opts.precision ?? "float32";
    this.name = this.floatType === "float64" ? "reference64" : "reference";
  }

  // ---- memory -------------------------------------------------------------------------------------------

  alloc(shape: readonly number[], dtype: DType = "float"): Tensor {
    const n = numel(shape);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Cannot allocate tensor of shape ${fmtShape(shape)}`);
    }
    const data = dtype === "int32"
      ? new Int32Array(n)
      : this.floatType === "float64"
      ? new Float64Array(n)
      : new Float32Array(n);
    return new CpuTensor(data, shape, dtype);
  }

  view(t: Tensor, offset: number, shape: readonly number[]): Tensor {
    const n = numel(shape);
    if (!(offset >= 0 && offset + n <= t.size)) {
      throw new RangeError(
        `Cannot view ${fmtShape(shape)} at offset ${offset} of a tensor with ${t.size} elements`,
      );
    }
    return new CpuTensor(cpuData(t).subarray(offset, offset + n), shape, t.dtype);
  }

  write(t: Tensor, data: ArrayLike<number>): void {
    if (data.length !== t.size) {
      throw new TypeError(`Cannot write ${data.length} values into a tensor of shape ${fmtShape(t.shape)}`);
    }
    cpuData(t).set(data);
  }

  read(t: Tensor): Promise<HostArray> {
    return Promise.resolve(cpuData(t).slice());
  }

  free(_t: Tensor): void {}

  sync(): Promise<void> {
    return Promise.resolve();
  }

  // ---- copies and element-wise --------------------------------------------------------------------------

  fill(t: Tensor, value: number): void {
    cpuData(t).fill(value);
  }

  copy(src: Tensor, dst: Tensor): void {
    sameSize("copy", src, dst);
    cpuData(dst).set(cpuData(src));
  }

  copyStrided({ src, dst, shape, srcStride, dstStride }: Args<"copyStrided">): void {
    const s = cpuData(src), d = cpuData(dst);
    const [n0, n1, w] = shape;
    if (n0 === 0 || n1 === 0 || w === 0) return;
    const last = (st: readonly [number, number]) => (n0 - 1) * st[0] + (n1 - 1) * st[1] + w;
    if (last(srcStride) > s.length || last(dstStride) > d.length) {
      throw new RangeError(`Cannot copy blocks ${fmtShape(shape)}: the strides address beyond the tensors`);
    }
    for (let i = 0; i < n0; i++) {
      for (let j = 0; j < n1; j++) {
        const so = i * srcStride[0] + j * srcStride[1];
        d.set(s.subarray(so, so + w), i * dstStride[0] + j * dstStride[1]);
      }
    }
  }

  add({ a, b, out }: Args<"add">): void {
    const n = sameSize("add", a, b, out);
    const x = f(a), y = f(b), o = f(out);
    for (let i = 0; i < n; i++) o[i] = x[i] + y[i];
  }

  mul({ a, b, out }: Args<"mul">): void {
    const n = sameSize("mul", a, b, out);
    const x = f(a), y = f(b), o = f(out);
    for (let i = 0; i < n; i++) o[i] = x[i] * y[i];
  }

  axpy({ x, y, alpha }: Args<"axpy">): void {
    const n = sameSize("axpy", x, y);
    const xs = f(x), ys = f(y);
    for (let i = 0; i < n; i++) ys[i] += alpha * xs[i];
  }

  // ---- linear algebra -----------------------------------------------------------------------------------

  matmul(args: MatmulArgs): void {
    const g = normalizeMatmul(args);
    const a = f(args.a), b = f(args.b), c = f(args.c);
    const bias = args.bias ? f(args.bias) : null;
    forEachBatchItem(g, (aOff, bOff, cOff) => {
      gemm({ ...g, a, aOff, b, bOff, c, cOff });
      if (bias) addBiasRows(c, cOff, g.ldc, g.m, g.n, bias);
    });
  }

  sumRows({ x, out, accumulate = false }: Args<"sumRows">): void {
    const xs = f(x), o = f(out), n = out.size;
    if (xs.length % n !== 0) {
      throw new TypeError(`Cannot sum rows: ${fmtShape(x.shape)} is not a multiple of ${n} columns`);
    }
    const acc = new Float64Array(n);
    const rows = xs.length / n;
    for (let r = 0; r < rows; r++) {
      const ro = r * n;
      for (let j = 0; j < n; j++) acc[j] += xs[ro + j];
    }
    for (let j = 0; j < n; j++) o[j] = accumulate ? o[j] + acc[j] : acc[j];
  }

  // ---- layers -------------------------------------------------------------------------------------------

  layernorm({ x, weight, bias, out, mean, rstd, eps }: Args<"layernorm">): void {
    sameSize("layernorm", x, out);
    const c = weight.size;
    if (x.size !== mean.size * c || mean.size !== rstd.size) {
      throw new TypeError(
        `Cannot run layernorm: x ${fmtShape(x.shape)}, C ${c}, mean ${fmtShape(mean.shape)}`,
      );
    }
    layernormForward(f(x), f(weight), f(bias), f(out), f(mean), f(rstd), c, eps);
  }

  layernormBackward(
    { dout, x, mean, rstd, weight, dx, dweight, dbias, accumulate = false }: Args<"layernormBackward">,
  ): void {
    sameSize("layernormBackward", dout, x, dx);
    layernormBackward(
      f(dout),
      f(x),
      f(mean),
      f(rstd),
      f(weight),
      f(dx),
      f(dweight),
      f(dbias),
      weight.size,
      accumulate,
    );
  }

  gelu({ x, out, grad }: Args<"gelu">): void {
    if (grad) geluForwardWithGrad(f(x), f(out), f(grad), sameSize("gelu", x, out, grad));
    else geluForward(f(x), f(out), sameSize("gelu", x, out));
  }

  geluBackward({ x, dout, dx }: Args<"geluBackward">): void {
    geluBackward(f(x), f(dout), f(dx), sameSize("geluBackward", x, dout, dx));
  }

  relu({ x, out }: Args<"relu">): void {
    reluForward(f(x), f(out), sameSize("relu", x, out));
  }

  reluBackward({ y, dout, dx }: Args<"reluBackward">): void {
    reluBackward(f(y), f(dout), f(dx), sameSize("reluBackward", y, dout, dx));
  }

  tanh({ x, out }: Args<"tanh">): void {
    tanhForward(f(x), f(out), sameSize("tanh", x, out));
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
    softmaxForward(f(x), f(mask), f(out), heads, lq, lk);
  }

  softmaxBackward({ p, dp, dx }: Args<"softmaxBackward">): void {
    sameSize("softmaxBackward", p, dp, dx);
    softmaxBackward(f(p), f(dp), f(dx), p.shape.at(-1)!);
  }

  dropout({ x, out, p, seed }: Args<"dropout">): void {
    dropoutForward(f(x), f(out), p, seed, sameSize("dropout", x, out));
  }

  dropoutBackward({ dout, dx, p, seed }: Args<"dropoutBackward">): void {
    dropoutBackward(f(dout), f(dx), p, seed, sameSize("dropoutBackward", dout, dx));
  }

  embedding(a: EmbeddingArgs): void {
    const [B, L, C] = a.out.shape;
    const R = a.regions ? a.regions.shape[1] : 0;
    if (a.ids.size !== B * L || a.segmentIds.size !== B * L || (a.regions && a.regions.size !== B * R * C)) {
      throw new TypeError(`Cannot embed: out ${fmtShape(a.out.shape)}, ids ${fmtShape(a.ids.shape)}`);
    }
    embeddingForward(
      { b: B, l: L, c: C, posOffset: a.posOffset, r: R },
      ints(a.ids),
      ints(a.segmentIds),
      a.positionIds ? ints(a.positionIds) : null,
      f(a.wte),
      f(a.wpe),
      f(a.wtt),
      a.regions ? f(a.regions) : null,
      a.regionPos ? f(a.regionPos) : null,
      f(a.out),
    );
  }

  embeddingBackward(a: EmbeddingBackwardArgs): void {
    const [B, L, C] = a.dout.shape;
    const R = a.dregions ? a.dregions.shape[1] : 0;
    embeddingBackward(
      { b: B, l: L, c: C, posOffset: a.posOffset, r: R },
      ints(a.ids),
      ints(a.segmentIds),
      a.positionIds ? ints(a.positionIds) : null,
      f(a.dout),
      f(a.dwte),
      f(a.dwpe),
      f(a.dwtt),
      a.dregions ? f(a.dregions) : null,
      a.dregionPos ? f(a.dregionPos) : null,
    );
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
    gatherRows(f(x), ints(index), f(out), bx, d);
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
    scatterAddRows(f(dout), ints(index), f(dx), bx, d);
  }

  // ---- losses -------------------------------------------------------------------------------------------

  crossEntropy({ logits, targets, losses, smoothing = 0 }: Args<"crossEntropy">): void {
    sameSize("crossEntropy", targets, losses);
    crossEntropyForward(f(logits), ints(targets), f(losses), logits.size / targets.size, smoothing);
  }

  crossEntropyBackward(
    { logits, targets, dlosses, dlogits, smoothing = 0 }: Args<"crossEntropyBackward">,
  ): void {
    sameSize("crossEntropyBackward", logits, dlogits);
    crossEntropyBackward(
      f(logits),
      ints(targets),
      f(dlosses),
      f(dlogits),
      logits.size / targets.size,
      smoothing,
    );
  }

  maskedLossReduce(
    { losses, weights, out, coef, dropWorstRatio, scale = 1, normalizer }: Args<"maskedLossReduce">,
  ): void {
    sameSize("maskedLossReduce", losses, weights, coef);
    f(out)[0] = maskedLossReduce(
      f(losses),
      f(weights),
      f(coef),
      losses.shape[0],
      dropWorstRatio,
      scale,
      normalizer,
    );
  }

  bceWithLogits({ logits, targets, out }: Args<"bceWithLogits">): void {
    sameSize("bceWithLogits", logits, targets);
    f(out)[0] = bceForward(f(logits), f(targets), logits.shape[0]);
  }

  bceWithLogitsBackward({ logits, targets, dlogits, scale = 1 }: Args<"bceWithLogitsBackward">): void {
    sameSize("bceWithLogitsBackward", logits, targets, dlogits);
    bceBackward(f(logits), f(targets), f(dlogits), logits.shape[0], scale);
  }

  // ---- optimiser ----------------------------------------------------------------------------------------

  bertAdamUpdate({ param, grad, m, v, ...hyper }: BertAdamArgs): void {
    sameSize("bertAdamUpdate", param, grad, m, v);
    bertAdamUpdate(f(param), f(grad), f(m), f(v), hyper);
  }
  bertAdamUpdateGroup({ tensors, ...hyper }: BertAdamGroupArgs): void {
    for (const { param, grad, m, v, weightDecay } of tensors) {
      this.bertAdamUpdate({ ...hyper, param, grad, m, v, weightDecay });
    }
  }
}

function addBiasRows(c: FloatArray, cOff: number, ldc: number, m: number, n: number, bias: FloatArray): void {
  for (let i = 0; i < m; i++) {
    const r = cOff + i * ldc;
    for (let j = 0; j < n; j++) c[r + j] += bias[j];
  }
}
