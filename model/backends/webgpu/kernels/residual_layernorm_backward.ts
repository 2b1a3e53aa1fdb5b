/**
 * residual_layernorm_backward (fused, input gradients): the backward of residual_layernorm for one row,
 *
 *   x̂ = (res − μ)·rstd, g = dy ⊙ w, dres = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂))   (written)
 *   dproj = dres · keep/(1 − p)                                                     (written)
 *
 * the mask of kernels/dropout.ts for element `base + row·C + j`. dres is the residual's gradient, dproj
 * the output Linear's. The unfused twin is layernorm_backward then dropout (fused_test.ts). The parameter
 * gradients are residual_layernorm_params_partial + sum_chunks3. One workgroup of 128 per row.
 */
import type { KernelDef } from "../kernel.ts";
import { layerNormGradMeans, ROW_MAIN } from "./rows.ts";

/** dres and dproj of residual_layernorm */
export const RESIDUAL_LAYERNORM_BACKWARD: KernelDef = {
  name: "residual_layernorm_backward",
  workgroupSize: [128, 1],
  bindings: [
    { name: "dout", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "res", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "mean", access: "read", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read", type: "f32", shape: "[rows]" },
    { name: "weight", access: "read", type: "f32", shape: "[C]" },
    { name: "dres", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "dproj", access: "read_write", type: "f32", shape: "[rows, C]" },
  ],
  uniforms: { rows: "u32", c: "u32", base: "u32", seed: "u32", threshold: "u32", scale: "f32" },
  helpers: ["reduce", "hash"],
  body: ROW_MAIN + layerNormGradMeans("res") + /* wgsl */ `
  for (var j = lid; j < P.c; j += WG) {
    let xh = (res[P.res_off + o + j] - mu) * rs;
    let v = rs * (dout[P.dout_off + o + j] * weight[P.weight_off + j] - sg - xh * sgx);
    dres[P.dres_off + o + j] = v;
    let keep = dropout_hash(P.base + o + j, P.seed) >= P.threshold;
    dproj[P.dproj_off + o + j] = select(0.0, v * P.scale, keep);
  }
}`,
};
