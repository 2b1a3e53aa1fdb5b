/**
 * sum_chunks3: stage 2 of residual_layernorm_params_partial: out_i[c] += Σ_k partial[i, k, c] for the three
 * planes i (LayerNorm weight, LayerNorm bias, Linear bias), chunks added in order k = 0, 1, ... One
 * invocation per (i, c).
 */
import type { KernelDef } from "../kernel.ts";

/** three column sums of chunk partials, accumulated */
export const SUM_CHUNKS3: KernelDef = {
  name: "sum_chunks3",
  workgroupSize: [256, 1],
  bindings: [
    { name: "partial", access: "read", type: "f32", shape: "[3, chunks, C]" },
    { name: "out0", access: "read_write", type: "f32", shape: "[C] +=" },
    { name: "out1", access: "read_write", type: "f32", shape: "[C] +=" },
    { name: "out2", access: "read_write", type: "f32", shape: "[C] +=" },
  ],
  uniforms: { c: "u32", chunks: "u32" },
  body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wg_linear(wid, nwg) * WG + lid;
  let c = t % P.c;
  let i = t / P.c;
  if (i >= 3u) { return; }
  var s = 0.0;
  let base = P.partial_off + i * P.chunks * P.c + c;
  for (var k = 0u; k < P.chunks; k++) { s += partial[base + k * P.c]; }
  if (i == 0u) { out0[P.out0_off + c] += s; }
  else if (i == 1u) { out1[P.out1_off + c] += s; }
  else { out2[P.out2_off + c] += s; }
}`,
};
