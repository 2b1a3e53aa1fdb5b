/** Caffe2's RoIAlign (`aligned` off) of the RoIs of one level (twin: `roiAlign` of ../../roi_align.ts). */
import { elementwise, type KernelDef } from "@vlp/model";

/**
 * out[rows[j], c, ph, pw] for j < n: the mean of the bin's `gh × gw` bilinear samples of x; `boxes` `[n, 4]`
 * in input pixels, scaled by `scale`; samples more than a pixel outside the map are 0.
 */
export const ROI_ALIGN: KernelDef = elementwise(
  "detect_roi_align",
  [
    { name: "x", access: "read", type: "f32", shape: "[C, H, W]" },
    { name: "boxes", access: "read", type: "f32", shape: "[n, 4]" },
    { name: "rows", access: "read", type: "i32", shape: "[n]" },
    { name: "out", access: "read_write", type: "f32", shape: "[N, C, res, res]" },
  ],
  `let pw = i % P.res; let ph = (i / P.res) % P.res; let c = (i / (P.res * P.res)) % P.c;
  let j = i / (P.res * P.res * P.c);
  let b = P.boxes_off + j * 4u;
  let sx = boxes[b] * P.scale; let sy = boxes[b + 1u] * P.scale;
  let rw = max(boxes[b + 2u] * P.scale - sx, 1.0); let rh = max(boxes[b + 3u] * P.scale - sy, 1.0);
  let bw = rw / f32(P.res); let bh = rh / f32(P.res);
  var gh = P.ratio; var gw = P.ratio;
  if (P.ratio == 0u) { gh = u32(ceil(rh / f32(P.res))); gw = u32(ceil(rw / f32(P.res))); }
  let H = f32(P.h); let W = f32(P.w); let plane = P.x_off + c * P.h * P.w;
  var sum = 0.0;
  for (var iy = 0u; iy < gh; iy++) {
    let yy = sy + f32(ph) * bh + (f32(iy) + 0.5) * bh / f32(gh);
    for (var ix = 0u; ix < gw; ix++) {
      let xx = sx + f32(pw) * bw + (f32(ix) + 0.5) * bw / f32(gw);
      if (yy < -1.0 || yy > H || xx < -1.0 || xx > W) { continue; }
      var y = max(yy, 0.0); var xv = max(xx, 0.0);
      var y0 = u32(floor(y)); var x0 = u32(floor(xv)); var y1 = y0 + 1u; var x1 = x0 + 1u;
      if (y0 >= P.h - 1u) { y0 = P.h - 1u; y1 = y0; y = f32(y0); }
      if (x0 >= P.w - 1u) { x0 = P.w - 1u; x1 = x0; xv = f32(x0); }
      let ly = y - f32(y0); let lx = xv - f32(x0); let hy = 1.0 - ly; let hx = 1.0 - lx;
      sum += hy * hx * x[plane + y0 * P.w + x0] + hy * lx * x[plane + y0 * P.w + x1] +
        ly * hx * x[plane + y1 * P.w + x0] + ly * lx * x[plane + y1 * P.w + x1];
    }
  }
  let row = u32(rows[P.rows_off + j]);
  out[P.out_off + ((row * P.c + c) * P.res + ph) * P.res + pw] = sum / f32(gh * gw);`,
  { uniforms: { c: "u32", h: "u32", w: "u32", res: "u32", ratio: "u32", scale: "f32" } },
);
