/**
 * bert_adam_group: BertAdam's update (kernels/bert_adam.ts) for every tensor of a group in one dispatch,
 * after bert_adam_group_partial. Workgroup c (chunk c of tensor t, layout in bert_adam_group_partial.ts)
 * adds the partial sums of t's chunks (same order in every workgroup of t), takes the clip factor
 * c_t = min(1, max_norm / (‖g_t‖ + 1e-6)) (1 when max_norm ≤ 0), then updates its chunk:
 * m = b1·m + (1 − b1)·c_t·g, v = b2·v + (1 − b2)·(c_t·g)², p −= lr·(m / (√v + eps) + wd_t·p).
 */
import type { KernelDef } from "../kernel.ts";
import { ADAM_BINDINGS, ADAM_UNIFORMS, ADAM_WGSL } from "./bert_adam.ts";
import { GROUP_CHUNK_WGSL, GROUP_TABLES } from "./bert_adam_group_partial.ts";

/** one BertAdam step on every tensor of a group (bindings span the group: [Σ n_t]) */
export const BERT_ADAM_GROUP: KernelDef = {
  name: "bert_adam_group",
  workgroupSize: [256, 1],
  bindings: [
    ...ADAM_BINDINGS,
    ...GROUP_TABLES,
    { name: "partial", access: "read", type: "f32", shape: "[chunks]" },
  ],
  uniforms: { chunks: "u32", ch: "u32", ...ADAM_UNIFORMS },
  helpers: ["reduce"],
  body: /* wgsl */ `${ADAM_WGSL}
${GROUP_CHUNK_WGSL}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = wg_linear(wid, nwg);
  if (c >= P.chunks) { return; }  // whole padding workgroups
  let k = group_chunk(c);
  let first = tab[k.row + 5u];
  var ss = 0.0;
  for (var q = lid; q < tab[k.row + 6u]; q += WG) { ss += partial[P.partial_off + first + q]; }
  let clip = adam_clip(sqrt(wg_sum(lid, ss)));
  let wd = bitcast<f32>(tab[k.row + 7u]);
  let p0 = P.param_off + tab[k.row];
  let g0 = P.grad_off + tab[k.row + 1u];
  let m0 = P.m_off + tab[k.row + 2u];
  let v0 = P.v_off + tab[k.row + 3u];
  for (var j = k.j0 + lid; j < k.j1; j += WG) { adam_step(p0, g0, m0, v0, j, clip, wd); }
}`,
};
