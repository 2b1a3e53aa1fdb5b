/**
 * RoIAlign as Caffe2 computes it (`caffe2/operators/roi_align_op.cc`, `aligned` off, Detectron's
 * `RoIFeatureTransform` with `method: RoIAlign`): a RoI [x1, y1, x2, y2] in input pixels is scaled by the
 * level's `1/stride` with no half-pixel offset, its width and height are at least 1, each of the res×res bins
 * averages `sampling_ratio`² bilinear samples (⌈bin size⌉ of them when the ratio is 0); a sample more than
 * one pixel outside the map is 0, one within a pixel of the edge is clamped to it.
 *
 * @module
 */
import type { FeatureMap } from "./ops.ts";

/**
 * The four taps of one bilinear sample at (y, x) with Caffe2's border rules, written at `t` into `idx`
 * (offsets in a plane) and `wt` (weights; all 0 for a sample more than a pixel outside the map).
 */
function taps(
  H: number,
  W: number,
  yy: number,
  xx: number,
  idx: Int32Array,
  wt: Float64Array,
  t: number,
): void {
  if (yy < -1 || yy > H || xx < -1 || xx > W) {
    idx.fill(0, t, t + 4);
    wt.fill(0, t, t + 4);
    return;
  }
  let y = yy <= 0 ? 0 : yy, xv = xx <= 0 ? 0 : xx;
  let y0 = Math.floor(y), x0 = Math.floor(xv), y1: number, x1: number;
  if (y0 >= H - 1) {
    y1 = y0 = H - 1;
    y = y0;
  } else y1 = y0 + 1;
  if (x0 >= W - 1) {
    x1 = x0 = W - 1;
    xv = x0;
  } else x1 = x0 + 1;
  const ly = y - y0, lx = xv - x0, hy = 1 - ly, hx = 1 - lx;
  idx[t] = y0 * W + x0;
  idx[t + 1] = y0 * W + x1;
  idx[t + 2] = y1 * W + x0;
  idx[t + 3] = y1 * W + x1;
  wt[t] = hy * hx;
  wt[t + 1] = hy * lx;
  wt[t + 2] = ly * hx;
  wt[t + 3] = ly * lx;
}

/** The sampling grid of RoI i: its start (feature-map pixels), bin size, samples per bin (gh × gw). */
interface RoiGrid {
  sx: number;
  sy: number;
  bw: number;
  bh: number;
  gh: number;
  gw: number;
  /** samples per bin (gh·gw), taps per bin (4 per sample), bins (res²) */
  count: number;
  per: number;
  bins: number;
}

/** The grid of RoI `boxes[4i..4i+4)` scaled to the feature map, as Detectron's RoIAlign lays it out. */
function roiGrid(
  boxes: ArrayLike<number>,
  i: number,
  spatialScale: number,
  res: number,
  samplingRatio: number,
): RoiGrid {
  const sx = boxes[4 * i]! * spatialScale, sy = boxes[4 * i + 1]! * spatialScale;
  const ex = boxes[4 * i + 2]! * spatialScale, ey = boxes[4 * i + 3]! * spatialScale;
  const rw = Math.max(ex - sx, 1), rh = Math.max(ey - sy, 1);
  const gh = samplingRatio > 0 ? samplingRatio : Math.ceil(rh / res);
  const gw = samplingRatio > 0 ? samplingRatio : Math.ceil(rw / res);
  const count = gh * gw;
  return { sx, sy, bw: rw / res, bh: rh / res, gh, gw, count, per: count * 4, bins: res * res };
}

/**
 * RoIAlign of RoI `box` (4 numbers at `boxes[4i..]`) on `x` into `out` `[C, res, res]` at `outOffset`. The
 * sample positions and weights are the same for every channel: computed once per RoI, and within a bin the
 * taps on the same pixel merged into one weight (the samples of a bin a pixel or two wide share most of their
 * pixels) and the zero ones dropped, the 1/count folded in; then each channel sums its bins' few taps.
 */
export function roiAlign(
  x: FeatureMap,
  boxes: ArrayLike<number>,
  i: number,
  spatialScale: number,
  res: number,
  samplingRatio: number,
  out: Float32Array,
  outOffset: number,
): void {
  const { sx, sy, bw, bh, gh, gw, count, per, bins } = roiGrid(boxes, i, spatialScale, res, samplingRatio);
  const idx = new Int32Array(per), wt = new Float64Array(per);
  // merged taps of bin b: [start[b], start[b + 1]) of mIdx, mWt
  const start = new Int32Array(bins + 1),
    mIdx = new Int32Array(bins * per),
    mWt = new Float64Array(bins * per);
  let m = 0;
  for (let ph = 0; ph < res; ph++) {
    for (let pw = 0; pw < res; pw++) {
      let t = 0;
      for (let iy = 0; iy < gh; iy++) {
        const y = sy + ph * bh + ((iy + 0.5) * bh) / gh;
        for (let ix = 0; ix < gw; ix++, t += 4) {
          taps(x.h, x.w, y, sx + pw * bw + ((ix + 0.5) * bw) / gw, idx, wt, t);
        }
      }
      const b0 = m;
      for (let u = 0; u < per; u++) {
        if (wt[u] === 0) continue;
        let j = b0;
        while (j < m && mIdx[j] !== idx[u]) j++;
        if (j === m) {
          mIdx[m] = idx[u]!;
          mWt[m++] = wt[u]! / count;
        } else mWt[j] = mWt[j]! + wt[u]! / count;
      }
      start[ph * res + pw + 1] = m;
    }
  }
  const { data } = x, plane = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    const o = c * plane, oc = outOffset + c * bins;
    for (let b = 0; b < bins; b++) {
      let sum = 0;
      for (let t = start[b]!, e = start[b + 1]!; t < e; t++) sum += mWt[t]! * data[o + mIdx[t]!]!;
      out[oc + b] = sum;
    }
  }
}

/**
 * RoIAlign of RoI `box` (4 numbers at `boxes[4i..]`) on `x` into `out` `[C, res, res]` at `outOffset`, every
 * tap of every sample summed: the plain twin of {@linkcode roiAlign}.
 */
export function roiAlignRef(
  x: FeatureMap,
  boxes: ArrayLike<number>,
  i: number,
  spatialScale: number,
  res: number,
  samplingRatio: number,
  out: Float32Array,
  outOffset: number,
): void {
  const { sx, sy, bw, bh, gh, gw, count, per, bins } = roiGrid(boxes, i, spatialScale, res, samplingRatio);
  const idx = new Int32Array(bins * per), wt = new Float64Array(bins * per);
  for (let ph = 0; ph < res; ph++) {
    for (let pw = 0; pw < res; pw++) {
      let t = (ph * res + pw) * per;
      for (let iy = 0; iy < gh; iy++) {
        const y = sy + ph * bh + ((iy + 0.5) * bh) / gh;
        for (let ix = 0; ix < gw; ix++, t += 4) {
          taps(x.h, x.w, y, sx + pw * bw + ((ix + 0.5) * bw) / gw, idx, wt, t);
        }
      }
    }
  }
  const { data } = x, plane = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    const o = c * plane;
    for (let b = 0; b < bins; b++) {
      let sum = 0;
      for (let t = b * per; t < (b + 1) * per; t++) sum += wt[t]! * data[o + idx[t]!]!;
      out[outOffset + c * bins + b] = sum / count;
    }
  }
}
