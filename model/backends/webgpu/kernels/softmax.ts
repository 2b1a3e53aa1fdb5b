/**
 * softmax: p[s,h,q,:] = softmax(x[s,h,q,:] + mask[s,q,:]) over Lk; one workgroup of 64 per row of
 * [S·NH·Lq, Lk], max subtracted before exp. `row_base` is the global row of this dispatch's row 0 (calls
 * split by binding size), used to find the mask row.
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** out = softmax(x + mask) */
export const SOFTMAX: KernelDef = {
  name: "softmax",
  workgroupSize: [64, 1],
  bindings: [
    { name: "x", access: "read", type: "f32", shape: "[S, NH, Lq, Lk]" },
    { name: "mask", access: "read", type: "f32", shape: "[S, Lq, Lk] additive" },
    { name: "out", access: "read_write", type: "f32", shape: "[S, NH, Lq, Lk]" },
  ],
  uniforms: { rows: "u32", row_base: "u32", heads: "u32", lq: "u32", lk: "u32" },
  helpers: ["reduce"],
  body: ROW_MAIN + /* wgsl */ `
  let g = P.row_base + row;               // global row (s, h, q)
  let s = g / (P.heads * P.lq);
  let q = g % P.lq;
  let xo = P.x_off + row * P.lk;
  let mo = P.mask_off + (s * P.lq + q) * P.lk;
  let oo = P.out_off + row * P.lk;
  var mx = -3.4028235e38;
  for (var j = lid; j < P.lk; j += WG) { mx = max(mx, x[xo + j] + mask[mo + j]); }
  mx = wg_max(lid, mx);
  var sum = 0.0;
  for (var j = lid; j < P.lk; j += WG) { sum += exp(x[xo + j] + mask[mo + j] - mx); }
  let inv = 1.0 / wg_sum(lid, sum);
  for (var j = lid; j < P.lk; j += WG) { out[oo + j] = exp(x[xo + j] + mask[mo + j] - mx) * inv; }
}`,
};
