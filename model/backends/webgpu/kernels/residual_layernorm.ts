/**
 * residual_layernorm (fused): the epilogue of an output block in one pass over each row,
 *
 *   res = dropout(proj) + resid ;  out = LN(res)  (two-pass variance, as layernorm)
 *
 * with the dropout mask of kernels/dropout.ts for element `base + row·C + j` (threshold 0 and scale 1: no
 * dropout). Writes res (the backward's input), out, μ and rstd. The unfused twin is dropout, add and
 * layernorm (fused_test.ts). One workgroup of 128 per row.
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** res = dropout(proj) + resid; out = LN(res) */
export const RESIDUAL_LAYERNORM: KernelDef = {
  name: "residual_layernorm",
  workgroupSize: [128, 1],
  bindings: [
    { name: "proj", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "resid", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "weight", access: "read", type: "f32", shape: "[C]" },
    { name: "bias", access: "read", type: "f32", shape: "[C]" },
    { name: "res", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "out", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "mean", access: "read_write", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read_write", type: "f32", shape: "[rows]" },
  ],
  uniforms: { rows: "u32", c: "u32", eps: "f32", base: "u32", seed: "u32", threshold: "u32", scale: "f32" },
  helpers: ["reduce", "hash"],
  body: ROW_MAIN + /* wgsl */ `
  let o = row * P.c;
  let cf = f32(P.c);
  var s = 0.0;
  // each invocation reads back only the elements it wrote (same j), so no barrier is needed between passes
  for (var j = lid; j < P.c; j += WG) {
    let keep = dropout_hash(P.base + o + j, P.seed) >= P.threshold;
    let v = select(0.0, proj[P.proj_off + o + j] * P.scale, keep) + resid[P.resid_off + o + j];
    res[P.res_off + o + j] = v;
    s += v;
  }
  let mu = wg_sum(lid, s) / cf;
  var q = 0.0;
  for (var j = lid; j < P.c; j += WG) { let d = res[P.res_off + o + j] - mu; q += d * d; }
  let rs = 1.0 / sqrt(wg_sum(lid, q) / cf + P.eps);
  for (var j = lid; j < P.c; j += WG) {
    out[P.out_off + o + j] = (res[P.res_off + o + j] - mu) * rs * weight[P.weight_off + j] +
      bias[P.bias_off + j];
  }
  if (lid == 0u) {
    mean[P.mean_off + row] = mu;
    rstd[P.rstd_off + row] = rs;
  }
}`,
};
