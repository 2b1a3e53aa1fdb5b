/**
 * {@linkcode MapOps} on the WebGPU backend of `@vlp/model`: feature maps are GPU tensors; convolutions are
 * the `im2col` kernel plus the backend's batched GEMM (one item per group), then `bias_act`; max pooling,
 * the FPN's upsample-add, the residual add + ReLU and RoIAlign are this folder's kernels (`kernels/`, each
 * with its twin in the CPU code, compared in `kernels_test.ts`); the FC layers are the backend's GEMM.
 * Weights go to the device once (cached by their host array). Maps are read back only where the CPU steps
 * need them (RPN outputs for the proposals, RoI features, the FC outputs).
 *
 * @module
 */
import {
  type Bind,
  gpuTensor,
  invocations,
  type KernelDef,
  type Tensor,
  type WebGpuBackend,
} from "@vlp/model";
import { type ConvParams, type FeatureMap, type MapOps, outSize } from "../ops.ts";
import { IM2COL } from "./kernels/im2col.ts";
import { BIAS_ACT } from "./kernels/bias_act.ts";
import { MAX_POOL } from "./kernels/max_pool.ts";
import { UPSAMPLE_ADD } from "./kernels/upsample_add.ts";
import { ADD_RELU } from "./kernels/add_relu.ts";
import { ROI_ALIGN } from "./kernels/roi_align.ts";

/** A feature map on the device: `t` is `[c, h, w]`. */
export interface GpuMap {
  c: number;
  h: number;
  w: number;
  t: Tensor;
}

/** Floats of the largest im2col band on the device (64 MiB). */
export const GPU_COL_LIMIT = 1 << 24;

/** The detector's dense operations on a WebGPU backend. */
export class GpuMapOps implements MapOps<GpuMap> {
  readonly #weights = new WeakMap<Float32Array, Tensor>();
  constructor(readonly be: WebGpuBackend) {}

  #run(k: KernelDef, binds: Record<string, Tensor>, uniforms: Record<string, number>, n: number): void {
    const b: Record<string, Bind> = {};
    for (const [name, t] of Object.entries(binds)) b[name] = gpuTensor(t);
    this.be.rt.dispatch(k, b, { n, ...uniforms }, Math.ceil(n / invocations(k)));
  }

  /** The device copy of a host array (uploaded once). */
  tensor(x: Float32Array): Tensor {
    let t = this.#weights.get(x);
    if (!t) {
      t = this.be.alloc([x.length]);
      this.be.write(t, x);
      this.#weights.set(x, t);
    }
    return t;
  }

  #map(c: number, h: number, w: number): GpuMap {
    return { c, h, w, t: this.be.alloc([c, h, w]) };
  }

  upload(x: FeatureMap): GpuMap {
    const m = this.#map(x.c, x.h, x.w);
    this.be.write(m.t, x.data);
    return m;
  }

  /** The im2col band of output rows [y0, y1) of a k×k convolution of `x` into `col` `[c·k·k, (y1 − y0)·wo]`. */
  im2col(
    x: GpuMap,
    k: number,
    stride: number,
    pad: number,
    wo: number,
    y0: number,
    y1: number,
    col: Tensor,
  ): void {
    const P = (y1 - y0) * wo;
    this.#run(IM2COL, { x: x.t, col }, { h: x.h, w: x.w, k, stride, pad, wo, y0, np: P }, x.c * k * k * P);
  }

  conv(x: GpuMap, p: ConvParams): GpuMap {
    const { k, stride, pad, groups, cout } = p, be = this.be;
    const ho = outSize(x.h, k, stride, pad), wo = outSize(x.w, k, stride, pad), n = ho * wo;
    const out = this.#map(cout, ho, wo), w = this.tensor(p.weight);
    const og = cout / groups, kk = (x.c / groups) * k * k;
    const batch = groups > 1
      ? { batch: [groups], strideA: [og * kk], strideB: [kk * n], strideC: [og * n] }
      : {};
    if (k === 1 && stride === 1 && pad === 0) {
      be.matmul({ a: w, b: x.t, c: out.t, m: og, n, k: kk, ...batch });
    } else {
      const band = Math.max(1, Math.min(ho, Math.floor(GPU_COL_LIMIT / (x.c * k * k * wo))));
      const col = be.alloc([x.c * k * k * band * wo]);
      for (let y0 = 0; y0 < ho; y0 += band) {
        const y1 = Math.min(ho, y0 + band), P = (y1 - y0) * wo;
        this.im2col(x, k, stride, pad, wo, y0, y1, col);
        const c = be.view(out.t, y0 * wo, [cout * n - y0 * wo]);
        be.matmul({
          a: w,
          b: col,
          c,
          m: og,
          n: P,
          k: kk,
          ldc: n,
          ...(groups > 1
            ? { batch: [groups], strideA: [og * kk], strideB: [kk * P], strideC: [og * n] }
            : {}),
        });
      }
      be.free(col);
    }
    if (p.bias || p.relu) {
      const bias = this.tensor(p.bias ?? new Float32Array(cout));
      this.#run(BIAS_ACT, { bias, out: out.t }, { hw: n, relu: p.relu ? 1 : 0 }, cout * n);
    }
    return out;
  }

  maxPool(x: GpuMap, k: number, stride: number, pad: number): GpuMap {
    const ho = outSize(x.h, k, stride, pad), wo = outSize(x.w, k, stride, pad), out = this.#map(x.c, ho, wo);
    this.#run(MAX_POOL, { x: x.t, out: out.t }, { h: x.h, w: x.w, ho, wo, k, stride, pad }, x.c * ho * wo);
    return out;
  }

  upsampleAdd(lateral: GpuMap, top: GpuMap): void {
    const { c, h, w } = lateral;
    if (top.c !== c || top.h * 2 < h || top.w * 2 < w) {
      throw new TypeError(`Cannot upsample [${top.c},${top.h},${top.w}] onto [${c},${h},${w}]`);
    }
    this.#run(UPSAMPLE_ADD, { top: top.t, lat: lateral.t }, { h, w, th: top.h, tw: top.w }, c * h * w);
  }

  addRelu(a: GpuMap, b: GpuMap): GpuMap {
    this.#run(ADD_RELU, { b: b.t, a: a.t }, {}, a.c * a.h * a.w);
    return a;
  }

  async read(x: GpuMap): Promise<FeatureMap> {
    return { c: x.c, h: x.h, w: x.w, data: Float32Array.from(await this.be.read(x.t)) };
  }

  async roiAlign(
    levels: Record<number, GpuMap>,
    rois: Float64Array,
    roiLevels: Int32Array,
    res: number,
    samplingRatio: number,
  ): Promise<Float32Array> {
    const n = roiLevels.length;
    if (n === 0) return new Float32Array(0);
    const c = levels[roiLevels[0]!]!.c, out = this.be.alloc([n * c * res * res]);
    const temps: Tensor[] = [];
    for (const l of new Set(roiLevels)) {
      const rows: number[] = [];
      roiLevels.forEach((v, i) => v === l && rows.push(i));
      const boxes = new Float32Array(rows.length * 4);
      rows.forEach((r, j) => boxes.set(rois.subarray(r * 4, r * 4 + 4), j * 4));
      const tb = this.be.alloc([rows.length, 4]), tr = this.be.alloc([rows.length], "int32");
      this.be.write(tb, boxes);
      this.be.write(tr, rows);
      temps.push(tb, tr);
      const x = levels[l]!;
      this.#run(ROI_ALIGN, { x: x.t, boxes: tb, rows: tr, out }, {
        c,
        h: x.h,
        w: x.w,
        res,
        ratio: samplingRatio,
        scale: 1 / 2 ** l,
      }, rows.length * c * res * res);
    }
    const host = Float32Array.from(await this.be.read(out));
    for (const t of [...temps, out]) this.be.free(t);
    return host;
  }

  async linear(
    x: Float32Array,
    n: number,
    w: Float32Array,
    b: Float32Array,
    relu: boolean,
  ): Promise<Float32Array> {
    const outDim = b.length, inDim = w.length / outDim;
    if (n === 0) return new Float32Array(0);
    const tx = this.be.alloc([n, inDim]), ty = this.be.alloc([n, outDim]);
    this.be.write(tx, x);
    this.be.matmul({
      a: tx,
      b: this.tensor(w),
      c: ty,
      m: n,
      n: outDim,
      k: inDim,
      transB: true,
      bias: this.tensor(b),
    });
    if (relu) this.be.relu({ x: ty, out: ty });
    const y = Float32Array.from(await this.be.read(ty));
    this.be.free(tx);
    this.be.free(ty);
    return y;
  }

  free(x: GpuMap): void {
    this.be.free(x.t);
  }
}
