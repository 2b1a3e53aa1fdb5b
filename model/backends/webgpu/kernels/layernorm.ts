/**
 * layernorm: y = (x − μ)·rstd·w + b over rows of width C, rstd = 1/√(mean((x − μ)²) + eps) (two-pass
 * variance); writes μ and rstd per row. One workgroup of 128 per row.
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** LayerNorm forward */
export const LAYERNORM: KernelDef = {
  name: "layernorm",
  workgroupSize: [128, 1],
  bindings: [
    { name: "x", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "weight", access: "read", type: "f32", shape: "[C]" },
    { name: "bias", access: "read", type: "f32", shape: "[C]" },
    { name: "out", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "mean", access: "read_write", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read_write", type: "f32", shape: "[rows]" },
  ],
  uniforms: { rows: "u32", c: "u32", eps: "f32" },
  helpers: ["reduce"],
  body: ROW_MAIN + /* wgsl */ `
  let xo = P.x_off + row * P.c;
  let oo = P.out_off + row * P.c;
  let cf = f32(P.c);
  var s = 0.0;
  for (var j = lid; j < P.c; j += WG) { s += x[xo + j]; }
  let mu = wg_sum(lid, s) / cf;
  var v = 0.0;
  for (var j = lid; j < P.c; j += WG) { let d = x[xo + j] - mu; v += d * d; }
  let rs = 1.0 / sqrt(wg_sum(lid, v) / cf + P.eps);
  for (var j = lid; j < P.c; j += WG) {
    out[oo + j] = (x[xo + j] - mu) * rs * weight[P.weight_off + j] + bias[P.bias_off + j];
  }
  if (lid == 0u) {
    mean[P.mean_off + row] = mu;
    rstd[P.rstd_off + row] = rs;
  }
}`,
};
