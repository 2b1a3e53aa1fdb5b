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

/** Bilinear sample of plane `plane` of `x` at (y, x) with Caffe2's border rules. */
function sample(x: FeatureMap, plane: number, yy: number, xx: number): number {
  const { h: H, w: W, data } = x;
  if (yy < -1 || yy > H || xx < -1 || xx > W) return 0;
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
  const ly = y - y0, lx = xv - x0, hy = 1 - ly, hx = 1 - lx, o = plane * H * W;
  return hy * hx * data[o + y0 * W + x0]! + hy * lx * data[o + y0 * W + x1]! +
    ly * hx * data[o + y1 * W + x0]! +
    ly * lx * data[o + y1 * W + x1]!;
}

/**
 * RoIAlign of RoI `box` (4 numbers at `boxes[4i..]`) on `x` into `out` `[C, res, res]` at `outOffset`.
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
  const sx = boxes[4 * i]! * spatialScale, sy = boxes[4 * i + 1]! * spatialScale;
  const ex = boxes[4 * i + 2]! * spatialScale, ey = boxes[4 * i + 3]! * spatialScale;
  const rw = Math.max(ex - sx, 1), rh = Math.max(ey - sy, 1);
  const bw = rw / res, bh = rh / res;
  const gh = samplingRatio > 0 ? samplingRatio : Math.ceil(rh / res);
  const gw = samplingRatio > 0 ? samplingRatio : Math.ceil(rw / res);
  const count = gh * gw;
  for (let c = 0; c < x.c; c++) {
    for (let ph = 0; ph < res; ph++) {
      for (let pw = 0; pw < res; pw++) {
        let sum = 0;
        for (let iy = 0; iy < gh; iy++) {
          const y = sy + ph * bh + ((iy + 0.5) * bh) / gh;
          for (let ix = 0; ix < gw; ix++) sum += sample(x, c, y, sx + pw * bw + ((ix + 0.5) * bw) / gw);
        }
        out[outOffset + (c * res + ph) * res + pw] = sum / count;
      }
    }
  }
}
