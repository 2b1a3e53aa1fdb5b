/**
 * Detectron's test-time input (`utils/blob.py: prep_im_for_blob`, `im_list_to_blob`): BGR order, float32,
 * `PIXEL_MEANS` subtracted (no division by a standard deviation), resized by one factor so that the
 * shorter side is `TEST.SCALE` unless the longer side would then exceed `TEST.MAX_SIZE` (then the longer
 * side is `MAX_SIZE`), with OpenCV's `INTER_LINEAR` (half-pixel centres, edge clamped, no antialiasing),
 * zero-padded at the bottom and right to a multiple of `FPN.COARSEST_STRIDE`.
 *
 * @module
 */
import type { DetectorConfig } from "./config.ts";
import type { RgbImage } from "./image.ts";
import { type FeatureMap, featureMap } from "./ops.ts";
import { roundHalfEven } from "./rpn.ts";
import type { ImInfo } from "./rpn.ts";

/** The network input of one image: `[3, H, W]` BGR, the padded size and the scale (`im_info`). */
export interface PreparedImage {
  data: FeatureMap;
  info: ImInfo;
  /** original size */
  height0: number;
  width0: number;
}

/** Detectron's `im_scale` for an image of `h × w`. */
export function imageScale(cfg: DetectorConfig, h: number, w: number): number {
  const mn = Math.min(h, w), mx = Math.max(h, w);
  let scale = cfg.TEST.SCALE / mn;
  if (roundHalfEven(scale * mx) > cfg.TEST.MAX_SIZE) scale = cfg.TEST.MAX_SIZE / mx;
  return scale;
}

/** OpenCV INTER_LINEAR taps along one axis: source indices i0, i1 and the weight t of i1. */
function linearTaps(
  nIn: number,
  nOut: number,
  scale: number,
): { i0: Int32Array; i1: Int32Array; t: Float32Array } {
  const i0 = new Int32Array(nOut), i1 = new Int32Array(nOut), t = new Float32Array(nOut);
  for (let d = 0; d < nOut; d++) {
    const f = (d + 0.5) / scale - 0.5;
    let s = Math.floor(f), frac = f - s;
    if (s < 0) {
      s = 0;
      frac = 0;
    }
    if (s >= nIn - 1) {
      s = nIn - 1;
      frac = 0;
    }
    i0[d] = s;
    i1[d] = Math.min(s + 1, nIn - 1);
    t[d] = frac;
  }
  return { i0, i1, t };
}

/** The network input of an RGB image. */
export function prepareImage(cfg: DetectorConfig, img: RgbImage): PreparedImage {
  const { width: w0, height: h0, data } = img;
  const scale = imageScale(cfg, h0, w0);
  const hs = roundHalfEven(h0 * scale), ws = roundHalfEven(w0 * scale);
  const S = cfg.FPN.COARSEST_STRIDE, hp = Math.ceil(hs / S) * S, wp = Math.ceil(ws / S) * S;
  const out = featureMap(3, hp, wp);
  const ty = linearTaps(h0, hs, scale), tx = linearTaps(w0, ws, scale);
  const means = cfg.PIXEL_MEANS;
  // BGR planes minus the means: [3, h0, w0]
  const src = new Float32Array(3 * h0 * w0);
  for (let i = 0; i < h0 * w0; i++) {
    for (let c = 0; c < 3; c++) src[c * h0 * w0 + i] = data[i * 3 + 2 - c]! - means[c]!;
  }
  const row = new Float32Array(w0);
  for (let c = 0; c < 3; c++) {
    const plane = c * h0 * w0;
    for (let y = 0; y < hs; y++) {
      const a = plane + ty.i0[y]! * w0, b = plane + ty.i1[y]! * w0, t = ty.t[y]!;
      for (let x = 0; x < w0; x++) row[x] = src[a + x]! * (1 - t) + src[b + x]! * t;
      const o = (c * hp + y) * wp;
      for (let x = 0; x < ws; x++) {
        const u = tx.t[x]!;
        out.data[o + x] = row[tx.i0[x]!]! * (1 - u) + row[tx.i1[x]!]! * u;
      }
    }
  }
  return { data: out, info: { height: hp, width: wp, scale }, height0: h0, width0: w0 };
}
