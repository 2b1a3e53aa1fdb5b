/**
 * layernorm_backward (dx): x̂ = (x − μ)·rstd, g = dy ⊙ w, dx = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂)),
 * written or added (`accumulate` = 1). One workgroup of 128 per row. The parameter gradients are
 * layernorm_params_partial + sum_rows.
 */
import type { KernelDef } from "../kernel.ts";
import { layerNormGradMeans, ROW_MAIN } from "./rows.ts";

/** LayerNorm backward, input gradient */
export const LAYERNORM_BACKWARD: KernelDef = {
  name: "layernorm_backward",
  workgroupSize: [128, 1],
  bindings: [
    { name: "dout", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "x", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "mean", access: "read", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read", type: "f32", shape: "[rows]" },
    { name: "weight", access: "read", type: "f32", shape: "[C]" },
    { name: "dx", access: "read_write", type: "f32", shape: "[rows, C]" },
  ],
  uniforms: { rows: "u32", c: "u32", accumulate: "u32" },
  helpers: ["reduce"],
  body: ROW_MAIN + layerNormGradMeans("x") + /* wgsl */ `
  for (var j = lid; j < P.c; j += WG) {
    let xh = (x[P.x_off + o + j] - mu) * rs;
    let v = rs * (dout[P.dout_off + o + j] * weight[P.weight_off + j] - sg - xh * sgx);
    let at = P.dx_off + o + j;
    dx[at] = select(v, dx[at] + v, P.accumulate != 0u);
  }
}`,
};
