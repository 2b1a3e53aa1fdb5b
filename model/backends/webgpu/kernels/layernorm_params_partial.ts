/**
 * layernorm_params_partial: the LayerNorm parameter gradients summed over one chunk of `chunk_rows` rows:
 * partial_w[k, c] = Σ_r dy·x̂ (dweight), partial_b[k, c] = Σ_r dy (dbias), for chunk k; one invocation per
 * (k, c). sum_rows then adds the chunks, in order, into dweight and dbias (deterministic, two-stage).
 */
import type { KernelDef } from "../kernel.ts";
import { chunkColumnMain } from "./rows.ts";

/** per-chunk sums of dy·x̂ and dy */
export const LAYERNORM_PARAMS_PARTIAL: KernelDef = {
  name: "layernorm_params_partial",
  workgroupSize: [256, 1],
  bindings: [
    { name: "dout", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "x", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "mean", access: "read", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read", type: "f32", shape: "[rows]" },
    { name: "partial_w", access: "read_write", type: "f32", shape: "[chunks, C]" },
    { name: "partial_b", access: "read_write", type: "f32", shape: "[chunks, C]" },
  ],
  uniforms: { rows: "u32", c: "u32", chunk_rows: "u32", chunks: "u32" },
  body: chunkColumnMain("c", "c") + /* wgsl */ `
  var dw = 0.0;
  var db = 0.0;
  for (var r = k * P.chunk_rows; r < r1; r++) {
    let dy = dout[P.dout_off + r * P.c + c];
    let xh = (x[P.x_off + r * P.c + c] - mean[P.mean_off + r]) * rstd[P.rstd_off + r];
    dw += dy * xh;
    db += dy;
  }
  partial_w[P.partial_w_off + k * P.c + c] = dw;
  partial_b[P.partial_b_off + k * P.c + c] = db;
}`,
};
