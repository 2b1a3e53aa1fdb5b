/**
 * The detector's dense operations on CPU feature maps (`[C, H, W]` float32, one image): convolution as
 * im2col + one GEMM per group (the GEMM through a backend of `@vlp/model`, so OpenBLAS on `blas`), per-channel
 * bias + ReLU, max pooling, nearest 2x upsampling added to a lateral map, fully connected layers, and
 * {@linkcode CpuMapOps}, which runs the stride-1 k×k convolutions (the grouped 3×3 of ResNeXt, the FPN's and
 * the RPN's 3×3) as one GEMM per tap (`conv_taps.ts`) and takes its maps from a pool (`buffer_pool.ts`).
 *
 * Memory: a 1x1 stride-1 convolution reads its input in place; any other convolution unfolds (im2col) or
 * pads (taps) its input a band of output rows at a time, so its scratch stays under {@linkcode COL_LIMIT}
 * floats whatever the image size. A convolution's bias is the GEMM's starting value (beta = 1).
 *
 * @module
 */
import { type Backend, CpuTensor } from "@vlp/model";
import { BufferPool, Scratch } from "./buffer_pool.ts";
import { convTaps } from "./conv_taps.ts";
import { roiAlign } from "./roi_align.ts";

/** A feature map of one image: `data` is `[c, h, w]` row-major. */
export interface FeatureMap {
  c: number;
  h: number;
  w: number;
  data: Float32Array;
}

/** Floats of the largest im2col band (16 MiB). */
export const COL_LIMIT = 1 << 22;

/** A new zero map. */
export function featureMap(c: number, h: number, w: number): FeatureMap {
  return { c, h, w, data: new Float32Array(c * h * w) };
}

/** Row-major GEMM on host arrays through a CPU backend: C[m, n] = A[m, k] · B (B [k, n], or [n, k] if transB). */
export class Gemm {
  constructor(readonly backend: Backend) {}
  run(
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    opts: {
      transB?: boolean;
      lda?: number;
      ldb?: number;
      ldc?: number;
      /** 1: accumulate into C (default 0: overwrite) */
      beta?: number;
      bias?: Float32Array;
      /** groups of one GEMM each, item g at g·strideA, g·strideB, g·strideC */
      batch?: number;
      strideA?: number;
      strideB?: number;
      strideC?: number;
    } = {},
  ): void {
    const t = (x: Float32Array) => new CpuTensor(x, [x.length], "float");
    this.backend.matmul({
      a: t(a),
      b: t(b),
      c: t(c),
      m,
      n,
      k,
      transB: opts.transB,
      lda: opts.lda,
      ldb: opts.ldb,
      ldc: opts.ldc,
      beta: opts.beta,
      bias: opts.bias ? t(opts.bias) : undefined,
      ...(opts.batch && opts.batch > 1
        ? {
          batch: [opts.batch],
          strideA: [opts.strideA!],
          strideB: [opts.strideB!],
          strideC: [opts.strideC!],
        }
        : {}),
    });
  }
}

/** A convolution's fixed parameters; `weight` is `[cout, cin/groups, k, k]`, `bias` `[cout]`. */
export interface ConvParams {
  weight: Float32Array;
  bias?: Float32Array;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  groups: number;
  /** apply max(0, ·) after the bias */
  relu?: boolean;
}

/** Output size of a convolution or pooling along one axis (floor, as Caffe2 and PyTorch). */
export function outSize(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

/**
 * Unfold rows [y0, y1) of the output of a k×k convolution of channels [c0, c0 + cg) of `x` into
 * `col` `[cg·k·k, (y1 − y0)·wo]` (zero outside the map).
 */
export function im2col(
  x: FeatureMap,
  c0: number,
  cg: number,
  k: number,
  stride: number,
  pad: number,
  wo: number,
  y0: number,
  y1: number,
  col: Float32Array,
): void {
  const { h, w, data } = x, P = (y1 - y0) * wo;
  for (let ci = 0; ci < cg; ci++) {
    const plane = (c0 + ci) * h * w;
    for (let ky = 0; ky < k; ky++) {
      for (let kx = 0; kx < k; kx++) {
        // output columns whose input column ox·stride − pad + kx lies in [0, w)
        const ox0 = Math.min(wo, Math.max(0, Math.ceil((pad - kx) / stride)));
        const ox1 = Math.max(ox0, Math.min(wo, Math.floor((w - 1 + pad - kx) / stride) + 1));
        let o = ((ci * k + ky) * k + kx) * P;
        for (let oy = y0; oy < y1; oy++, o += wo) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= h) {
            col.fill(0, o, o + wo);
            continue;
          }
          if (ox0 > 0) col.fill(0, o, o + ox0);
          if (ox1 < wo) col.fill(0, o + ox1, o + wo);
          const row = plane + iy * w - pad + kx;
          if (stride === 1) col.set(data.subarray(row + ox0, row + ox1), o + ox0);
          else for (let ox = ox0; ox < ox1; ox++) col[o + ox] = data[row + ox * stride]!;
        }
      }
    }
  }
}

/** x = max(0, x) in place (NaN stays NaN). */
export function relu(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) if (x[i]! < 0) x[i] = 0;
}

/** out[c, :] = relu?(out[c, :] + bias[c]) over `[cout, n]`. */
export function biasRelu(
  out: Float32Array,
  cout: number,
  n: number,
  bias?: Float32Array,
  relu = false,
): void {
  for (let c = 0; c < cout; c++) {
    const b = bias ? bias[c]! : 0;
    const o = c * n;
    if (relu) { for (let i = o; i < o + n; i++) out[i] = Math.max(0, out[i]! + b); }
    else if (b !== 0) { for (let i = o; i < o + n; i++) out[i] = out[i]! + b; }
  }
}

/**
 * y = conv(x) (+ bias, ReLU): im2col bands + one GEMM per group and band. `out` (`[cout, ho, wo]`, old values
 * allowed: every element is written) and `col` (an array of at least {@linkcode colSize} floats) may be given
 * to reuse arrays.
 */
export function conv2d(
  gemm: Gemm,
  x: FeatureMap,
  p: ConvParams,
  outData?: Float32Array,
  colBuf?: Float32Array,
): FeatureMap {
  const { k, stride, pad, groups, cout } = p;
  const ho = outSize(x.h, k, stride, pad), wo = outSize(x.w, k, stride, pad);
  const out = outData ? { c: cout, h: ho, w: wo, data: outData } : featureMap(cout, ho, wo), n = ho * wo;
  const cg = x.c / groups, og = cout / groups, kk = cg * k * k;
  // the bias as the GEMMs' starting value (beta = 1): no pass over the output for it
  const beta = p.bias ? 1 : 0;
  if (p.bias) { for (let c = 0; c < cout; c++) out.data.fill(p.bias[c]!, c * n, (c + 1) * n); }
  if (k === 1 && stride === 1 && pad === 0) {
    for (let g = 0; g < groups; g++) {
      gemm.run(
        og,
        n,
        kk,
        p.weight.subarray(g * og * kk),
        x.data.subarray(g * cg * n),
        out.data.subarray(g * og * n),
        { beta },
      );
    }
  } else {
    // all groups unfold at once (group g's rows are g·kk .. (g+1)·kk − 1), then one batched GEMM per band
    const band = colBand(x.c, k, ho, wo);
    const col = colBuf ?? new Float32Array(x.c * k * k * band * wo);
    for (let y0 = 0; y0 < ho; y0 += band) {
      const y1 = Math.min(ho, y0 + band), P = (y1 - y0) * wo;
      im2col(x, 0, x.c, k, stride, pad, wo, y0, y1, col);
      gemm.run(og, P, kk, p.weight, col, out.data.subarray(y0 * wo), {
        ldc: n,
        batch: groups,
        strideA: og * kk,
        strideB: kk * P,
        strideC: og * n,
        beta,
      });
    }
  }
  if (p.relu) relu(out.data);
  return out;
}

/** Output rows per im2col band of {@linkcode conv2d}. */
function colBand(c: number, k: number, ho: number, wo: number): number {
  return Math.max(1, Math.min(ho, Math.floor(COL_LIMIT / (c * k * k * wo))));
}

/** Floats of the im2col band of {@linkcode conv2d} for an input of `c` channels (0 for a 1×1 stride-1 conv). */
export function colSize(c: number, h: number, w: number, p: ConvParams): number {
  if (p.k === 1 && p.stride === 1 && p.pad === 0) return 0;
  const ho = outSize(h, p.k, p.stride, p.pad), wo = outSize(w, p.k, p.stride, p.pad);
  return c * p.k * p.k * colBand(c, p.k, ho, wo) * wo;
}

/** max(a, b, c) of numbers. */
function max3(a: number, b: number, c: number): number {
  const m = a <= b ? b : a;
  return m <= c ? c : m;
}

/** One pooled value of an output column whose window crosses the map's left or right edge. */
function poolEdge(
  data: Float32Array,
  r0: number,
  w: number,
  k: number,
  stride: number,
  pad: number,
  ky0: number,
  ky1: number,
  ox: number,
): number {
  let m = -Infinity;
  for (let ky = ky0; ky < ky1; ky++) {
    for (let kx = 0; kx < k; kx++) {
      const ix = ox * stride - pad + kx;
      if (ix >= 0 && ix < w) m = Math.max(m, data[r0 + ky * w + ix]!);
    }
  }
  return m;
}

/** Max pooling k×k with stride and padding (padding never wins: it is −∞): the plain twin of {@linkcode maxPool}. */
export function maxPoolRef(x: FeatureMap, k: number, stride: number, pad: number): FeatureMap {
  const ho = outSize(x.h, k, stride, pad), wo = outSize(x.w, k, stride, pad);
  const out = featureMap(x.c, ho, wo);
  for (let c = 0; c < x.c; c++) {
    const plane = c * x.h * x.w;
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < k; ky++) {
          const iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= x.h) continue;
          for (let kx = 0; kx < k; kx++) {
            const ix = ox * stride - pad + kx;
            if (ix >= 0 && ix < x.w) m = Math.max(m, x.data[plane + iy * x.w + ix]!);
          }
        }
        out.data[(c * ho + oy) * wo + ox] = m;
      }
    }
  }
  return out;
}

/**
 * Max pooling k×k with stride and padding (padding never wins: it is −∞); `out` (`[c, ho, wo]`, old values
 * allowed) may be given. The windows inside the map are read without bounds checks (the stem's 3×3 as one
 * nine-way maximum).
 */
export function maxPool(
  x: FeatureMap,
  k: number,
  stride: number,
  pad: number,
  outData?: Float32Array,
): FeatureMap {
  const ho = outSize(x.h, k, stride, pad), wo = outSize(x.w, k, stride, pad);
  const out = outData ? { c: x.c, h: ho, w: wo, data: outData } : featureMap(x.c, ho, wo);
  const { h, w, data } = x, o = out.data;
  // output columns [ox0, ox1) have their whole window inside [0, w)
  const ox0 = Math.min(wo, Math.ceil(pad / stride));
  const ox1 = Math.max(ox0, Math.min(wo, Math.floor((w - k + pad) / stride) + 1));
  for (let c = 0; c < x.c; c++) {
    const plane = c * h * w;
    for (let oy = 0; oy < ho; oy++) {
      const d = (c * ho + oy) * wo;
      const ky0 = Math.max(0, pad - oy * stride), ky1 = Math.min(k, h + pad - oy * stride);
      const r0 = plane + (oy * stride - pad) * w; // input row of ky = 0 (maybe outside the map)
      for (let ox = 0; ox < ox0; ox++) o[d + ox] = poolEdge(data, r0, w, k, stride, pad, ky0, ky1, ox);
      if (k === 3 && ky0 === 0 && ky1 === 3) {
        // the stem's pool inside the map: a nine-way maximum
        for (let ox = ox0; ox < ox1; ox++) {
          const i0 = r0 + ox * stride - pad, i1 = i0 + w, i2 = i1 + w;
          const a = max3(data[i0]!, data[i0 + 1]!, data[i0 + 2]!);
          const b = max3(data[i1]!, data[i1 + 1]!, data[i1 + 2]!);
          o[d + ox] = max3(a, b, max3(data[i2]!, data[i2 + 1]!, data[i2 + 2]!));
        }
      } else {
        for (let ox = ox0; ox < ox1; ox++) {
          const i0 = r0 + ox * stride - pad;
          let m = -Infinity;
          for (let ky = ky0; ky < ky1; ky++) {
            for (let kx = 0; kx < k; kx++) {
              const v = data[i0 + ky * w + kx]!;
              if (!(v <= m)) m = v;
            }
          }
          o[d + ox] = m;
        }
      }
      for (let ox = ox1; ox < wo; ox++) o[d + ox] = poolEdge(data, r0, w, k, stride, pad, ky0, ky1, ox);
    }
  }
  return out;
}

/** lateral += nearest-2x-upsampled top (in place; FPN's top-down path). `top` is `[c, ⌈h/2⌉, ⌈w/2⌉]`. */
export function upsampleAdd(lateral: FeatureMap, top: FeatureMap): void {
  const { c, h, w, data } = lateral;
  if (top.c !== c || top.h * 2 < h || top.w * 2 < w) {
    throw new TypeError(`Cannot upsample [${top.c},${top.h},${top.w}] onto [${c},${h},${w}]`);
  }
  for (let ci = 0; ci < c; ci++) {
    for (let y = 0; y < h; y++) {
      const o = (ci * h + y) * w, t = (ci * top.h + (y >> 1)) * top.w;
      for (let x = 0; x < w; x++) data[o + x] = data[o + x]! + top.data[t + (x >> 1)]!;
    }
  }
}

/** out = relu?(a + b) element-wise (in place into a). */
export function addRelu(a: FeatureMap, b: FeatureMap): FeatureMap {
  const x = a.data, y = b.data;
  for (let i = 0; i < x.length; i++) x[i] = Math.max(0, x[i]! + y[i]!);
  return a;
}

/** y [n, out] = relu?(x [n, in] · Wᵀ + b), W `[out, in]` as Detectron's FC. */
export function linear(
  gemm: Gemm,
  x: Float32Array,
  n: number,
  w: Float32Array,
  b: Float32Array,
  relu: boolean,
): Float32Array {
  const outDim = b.length, inDim = w.length / outDim;
  const y = new Float32Array(n * outDim);
  if (n === 0) return y;
  gemm.run(n, outDim, inDim, x, w, y, { transB: true, bias: b });
  if (relu) { for (let i = 0; i < y.length; i++) if (!(y[i]! > 0)) y[i] = 0; }
  return y;
}

/**
 * The dense operations of the detector on feature maps of type `M` (host `FeatureMap`s on CPU backends, GPU
 * tensors on webgpu: `webgpu/ops.ts`), so that the body, the pyramid, the RPN head and the box head are
 * written once. `read` brings a map to the host (after the work that writes it).
 */
export interface MapOps<M> {
  /** a host map onto the device */
  upload(x: FeatureMap): M;
  conv(x: M, p: ConvParams): M;
  maxPool(x: M, k: number, stride: number, pad: number): M;
  /** lateral += nearest-2x(top), in place */
  upsampleAdd(lateral: M, top: M): void;
  /** a = max(0, a + b), in place; returns a */
  addRelu(a: M, b: M): M;
  read(x: M): Promise<FeatureMap>;
  /** RoIAlign of RoIs `[n, 4]` on their levels → host `[n, D, res, res]` */
  roiAlign(
    levels: Record<number, M>,
    rois: Float64Array,
    roiLevels: Int32Array,
    res: number,
    samplingRatio: number,
  ): Promise<Float32Array>;
  /** host y `[n, out]` = relu?(x `[n, in]` · Wᵀ + b) */
  linear(x: Float32Array, n: number, w: Float32Array, b: Float32Array, relu: boolean): Promise<Float32Array>;
  /** release a map that is no longer used (on the host: back to the pool, unless uploaded or read) */
  free(x: M): void;
}

/**
 * {@linkcode MapOps} on host maps: the functions above (stride-1 convolutions other than 1×1 as
 * {@linkcode convTaps}), GEMMs through a CPU backend. The maps it makes come from a {@linkcode BufferPool}
 * and go back to it when freed; a map that was uploaded (the caller's) or read (handed to the caller) is
 * never given back.
 */
export class CpuMapOps implements MapOps<FeatureMap> {
  readonly pool = new BufferPool();
  readonly scratch = new Scratch();
  /** the arrays of the maps made here and not yet read: the only ones `free` gives back to the pool */
  readonly #owned = new WeakSet<Float32Array>();

  constructor(readonly gemm: Gemm) {}

  #take(n: number): Float32Array {
    const a = this.pool.take(n);
    this.#owned.add(a);
    return a;
  }
  upload(x: FeatureMap): FeatureMap {
    return x;
  }
  conv(x: FeatureMap, p: ConvParams): FeatureMap {
    const ho = outSize(x.h, p.k, p.stride, p.pad), wo = outSize(x.w, p.k, p.stride, p.pad);
    const out = this.#take(p.cout * ho * wo);
    if (p.stride === 1 && p.k > 1) {
      convTaps(this.gemm, x, p, out, this.scratch);
      return { c: p.cout, h: ho, w: wo, data: out };
    }
    return conv2d(this.gemm, x, p, out, this.scratch.get("col", colSize(x.c, x.h, x.w, p)));
  }
  maxPool(x: FeatureMap, k: number, stride: number, pad: number): FeatureMap {
    const ho = outSize(x.h, k, stride, pad), wo = outSize(x.w, k, stride, pad);
    return maxPool(x, k, stride, pad, this.#take(x.c * ho * wo));
  }
  upsampleAdd(lateral: FeatureMap, top: FeatureMap): void {
    upsampleAdd(lateral, top);
  }
  addRelu(a: FeatureMap, b: FeatureMap): FeatureMap {
    return addRelu(a, b);
  }
  read(x: FeatureMap): Promise<FeatureMap> {
    this.#owned.delete(x.data);
    return Promise.resolve(x);
  }
  roiAlign(
    levels: Record<number, FeatureMap>,
    rois: Float64Array,
    roiLevels: Int32Array,
    res: number,
    samplingRatio: number,
  ): Promise<Float32Array> {
    const n = roiLevels.length, c = n ? levels[roiLevels[0]!]!.c : 0, per = c * res * res;
    const out = new Float32Array(n * per);
    for (let i = 0; i < n; i++) {
      const l = roiLevels[i]!;
      roiAlign(levels[l]!, rois, i, 1 / 2 ** l, res, samplingRatio, out, i * per);
    }
    return Promise.resolve(out);
  }
  linear(x: Float32Array, n: number, w: Float32Array, b: Float32Array, relu: boolean): Promise<Float32Array> {
    return Promise.resolve(linear(this.gemm, x, n, w, b, relu));
  }
  /** give a map made here back to the pool (after its last use) */
  free(x: FeatureMap): void {
    if (!this.#owned.has(x.data)) return;
    this.#owned.delete(x.data);
    this.pool.give(x.data);
  }
}
