/**
 * softmax_dropout (fused): p = softmax(x + mask) over Lk and pd = dropout(p) in one pass over each row of
 * [S·NH·Lq, Lk] (the mask row shared by the heads; max subtracted before exp), the dropout mask of
 * kernels/dropout.ts for element `g·Lk + j` of the whole tensor (g the global row). Writes both: the
 * backward needs p. The unfused twin is softmax then dropout (fused_test.ts). One workgroup of 64 per row.
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** out = softmax(x + mask); dropped = dropout(out) */
export const SOFTMAX_DROPOUT: KernelDef = {
  name: "softmax_dropout",
  workgroupSize: [64, 1],
  bindings: [
    { name: "x", access: "read", type: "f32", shape: "[S, NH, Lq, Lk]" },
    { name: "mask", access: "read", type: "f32", shape: "[S, Lq, Lk] additive" },
    { name: "out", access: "read_write", type: "f32", shape: "[S, NH, Lq, Lk]" },
    { name: "dropped", access: "read_write", type: "f32", shape: "[S, NH, Lq, Lk]" },
  ],
  uniforms: {
    rows: "u32",
    row_base: "u32",
    heads: "u32",
    lq: "u32",
    lk: "u32",
    seed: "u32",
    threshold: "u32",
    scale: "f32",
  },
  helpers: ["reduce", "hash"],
  body: ROW_MAIN + /* wgsl */ `
  let g = P.row_base + row;               // global row (s, h, q)
  let s = g / (P.heads * P.lq);
  let q = g % P.lq;
  let xo = P.x_off + row * P.lk;
  let mo = P.mask_off + (s * P.lq + q) * P.lk;
  var mx = -3.4028235e38;
  for (var j = lid; j < P.lk; j += WG) { mx = max(mx, x[xo + j] + mask[mo + j]); }
  mx = wg_max(lid, mx);
  var sum = 0.0;
  for (var j = lid; j < P.lk; j += WG) { sum += exp(x[xo + j] + mask[mo + j] - mx); }
  let inv = 1.0 / wg_sum(lid, sum);
  for (var j = lid; j < P.lk; j += WG) {
    let p = exp(x[xo + j] + mask[mo + j] - mx) * inv;
    out[P.out_off + row * P.lk + j] = p;
    let keep = dropout_hash(g * P.lk + j, P.seed) >= P.threshold;
    dropped[P.dropped_off + row * P.lk + j] = select(0.0, p * P.scale, keep);
  }
}`,
};
