/**
 * residual_layernorm_params_partial: the parameter gradients of an output block's epilogue summed over one
 * chunk of `chunk_rows` rows, for chunk k and column c:
 *
 *   partial[0, k, c] = Σ_r dy·x̂  (LayerNorm weight),  partial[1, k, c] = Σ_r dy  (LayerNorm bias),
 *   partial[2, k, c] = Σ_r dproj  (the output Linear's bias)
 *
 * one invocation per (k, c); sum_chunks3 then adds the chunks in order (deterministic, two-stage). The
 * unfused twin is layernorm_params_partial + sum_rows for the first two and sum_rows of dproj for the third.
 */
import type { KernelDef } from "../kernel.ts";
import { chunkColumnMain } from "./rows.ts";

/** per-chunk sums of dy·x̂, dy and dproj */
export const RESIDUAL_LAYERNORM_PARAMS_PARTIAL: KernelDef = {
  name: "residual_layernorm_params_partial",
  workgroupSize: [256, 1],
  bindings: [
    { name: "dout", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "res", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "mean", access: "read", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read", type: "f32", shape: "[rows]" },
    { name: "dproj", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "partial", access: "read_write", type: "f32", shape: "[3, chunks, C]" },
  ],
  uniforms: { rows: "u32", c: "u32", chunk_rows: "u32", chunks: "u32" },
  body: chunkColumnMain("c", "c") + /* wgsl */ `
  var dw = 0.0;
  var db = 0.0;
  var dl = 0.0;
  for (var r = k * P.chunk_rows; r < r1; r++) {
    let dy = dout[P.dout_off + r * P.c + c];
    let xh = (res[P.res_off + r * P.c + c] - mean[P.mean_off + r]) * rstd[P.rstd_off + r];
    dw += dy * xh;
    db += dy;
    dl += dproj[P.dproj_off + r * P.c + c];
  }
  let plane = P.chunks * P.c;
  partial[P.partial_off + k * P.c + c] = dw;
  partial[P.partial_off + plane + k * P.c + c] = db;
  partial[P.partial_off + 2u * plane + k * P.c + c] = dl;
}`,
};
