/**
 * What the CPU backends share: {@linkcode CpuTensor} (a typed-array view of exactly its elements) and
 * {@linkcode CpuBackend}, every operation of {@linkcode Backend} as the plain TypeScript loops of
 * model/kernels/, in float32 or float64. The reference backend (reference.ts) is this class as it is; the
 * OpenBLAS backend (blas.ts) replaces its matrix products, row sums and a few element-wise loops. Shape
 * checks and their errors come from the shared op contract (backend_contract.ts). Work happens at call
 * time; {@linkcode CpuBackend.read} returns a copy.
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
  HostArray,
  MatmulArgs,
  Tensor,
} from "../backend.ts";
import { fmtShape } from "../backend.ts";
import {
  type Args,
  checkAlloc,
  checkView,
  checkWrite,
  copyStridedSpans,
  crossEntropyBackwardDims,
  crossEntropyDims,
  embeddingDims,
  gatherRowsDims,
  layernormBackwardDims,
  layernormDims,
  type NormalizedMatmul,
  normalizeMatmul,
  sameSize,
  scatterAddRowsDims,
  softmaxDims,
  sumRowsRows,
  topkRowsDims,
} from "../backend_contract.ts";
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
import { topkRows } from "../kernels/topk.ts";
import {
  bceBackward,
  bceForward,
  crossEntropyBackward,
  crossEntropyForward,
  maskedLossReduce,
} from "../kernels/losses.ts";
import { bertAdamUpdate } from "../kernels/bert_adam.ts";

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

/** The float array of a CPU tensor (TypeError for an int32 tensor). */
export function floatData(t: Tensor): FloatArray {
  const d = cpuData(t);
  if (d instanceof Int32Array) {
    throw new TypeError(`Cannot use tensor of shape ${fmtShape(t.shape)}: expected float, got int32`);
  }
  return d;
}

/** The Int32Array of a CPU tensor (TypeError for a float tensor). */
export function intData(t: Tensor): Int32Array {
  const d = cpuData(t);
  if (!(d instanceof Int32Array)) {
    throw new TypeError(`Cannot use tensor of shape ${fmtShape(t.shape)}: expected int32, got float`);
  }
  return d;
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

const f = floatData, ints = intData;

/** Every operation as plain TypeScript loops on typed arrays, float32 or float64 (see the module doc). */
export class CpuBackend implements Backend {
  readonly name: string;
  readonly floatType: "float32" | "float64";

  /** A backend called `name` whose float tensors are `precision` arrays. */
  constructor(name: string, precision: "float32" | "float64") {
    this.name = name;
    this.floatType = precision;
  }

  // ---- memory -------------------------------------------------------------------------------------------

  alloc(shape: readonly number[], dtype: DType = "float"): Tensor {
    const n = checkAlloc(shape);
    const data = dtype === "int32"
      ? new Int32Array(n)
      : this.floatType === "float64"
      ? new Float64Array(n)
      : new Float32Array(n);
    return new CpuTensor(data, shape, dtype);
  }

  view(t: Tensor, offset: number, shape: readonly number[]): Tensor {
    const n = checkView(t, offset, shape);
    return new CpuTensor(cpuData(t).subarray(offset, offset + n), shape, t.dtype);
  }

  write(t: Tensor, data: ArrayLike<number>): void {
    checkWrite(t, data);
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

  copyStrided(args: Args<"copyStrided">): void {
    if (!copyStridedSpans(args)) return;
    const { shape, srcStride, dstStride } = args;
    const s = cpuData(args.src), d = cpuData(args.dst);
    const [n0, n1, w] = shape;
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
    const rows = sumRowsRows({ x, out });
    const xs = f(x), o = f(out), n = out.size;
    const acc = new Float64Array(n);
    for (let r = 0; r < rows; r++) {
      const ro = r * n;
      for (let j = 0; j < n; j++) acc[j] += xs[ro + j];
    }
    for (let j = 0; j < n; j++) o[j] = accumulate ? o[j] + acc[j] : acc[j];
  }

  // ---- layers -------------------------------------------------------------------------------------------

  layernorm(args: Args<"layernorm">): void {
    const { x, weight, bias, out, mean, rstd, eps } = args;
    const { c } = layernormDims(args);
    layernormForward(f(x), f(weight), f(bias), f(out), f(mean), f(rstd), c, eps);
  }

  layernormBackward(args: Args<"layernormBackward">): void {
    const { dout, x, mean, rstd, weight, dx, dweight, dbias, accumulate = false } = args;
    layernormBackwardDims(args);
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

  softmax(args: Args<"softmax">): void {
    const { x, mask, out } = args;
    const { heads, lq, lk } = softmaxDims(args);
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
    const { B, L, C, R } = embeddingDims(a);
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
    const { bx, d } = gatherRowsDims({ x, index, out });
    gatherRows(f(x), ints(index), f(out), bx, d);
  }

  topkRows(args: Args<"topkRows">): void {
    const { rows, V, k } = topkRowsDims(args);
    topkRows(f(args.x), f(args.values), ints(args.indices), rows, V, k, args.stats ? f(args.stats) : null);
  }

  scatterAddRows({ dout, index, dx }: Args<"scatterAddRows">): void {
    const { bx, d } = scatterAddRowsDims({ dout, index, dx });
    scatterAddRows(f(dout), ints(index), f(dx), bx, d);
  }

  // ---- losses -------------------------------------------------------------------------------------------

  crossEntropy({ logits, targets, losses, smoothing = 0 }: Args<"crossEntropy">): void {
    const { v } = crossEntropyDims({ logits, targets, losses });
    crossEntropyForward(f(logits), ints(targets), f(losses), v, smoothing);
  }

  crossEntropyBackward(
    { logits, targets, dlosses, dlogits, smoothing = 0 }: Args<"crossEntropyBackward">,
  ): void {
    const { v } = crossEntropyBackwardDims({ logits, targets, dlosses, dlogits });
    crossEntropyBackward(f(logits), ints(targets), f(dlosses), f(dlogits), v, smoothing);
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
