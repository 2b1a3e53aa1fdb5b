/**
 * bert_adam_group: BertAdam's update (kernels/bert_adam.ts) for every tensor of a group in one dispatch,
 * after bert_adam_group_partial. Workgroup c (chunk c of tensor t, layout in bert_adam_group_partial.ts)
 * adds the partial sums of t's chunks (same order in every workgroup of t), takes the clip factor
 * c_t = min(1, max_norm / (‖g_t‖ + 1e-6)) (1 when max_norm ≤ 0), then updates its chunk:
 * m = b1·m + (1 − b1)·c_t·g, v = b2·v + (1 − b2)·(c_t·g)², p −= lr·(m / (√v + eps) + wd_t·p).
 */
import type { KernelDef } from "../kernel.ts";

/** one BertAdam step on every tensor of a group */
export const BERT_ADAM_GROUP: KernelDef = {
  name: "bert_adam_group",
  workgroupSize: [256, 1],
  bindings: [
    { name: "param", access: "read_write", type: "f32", shape: "[Σ n_t]" },
    { name: "grad", access: "read", type: "f32", shape: "[Σ n_t]" },
    { name: "m", access: "read_write", type: "f32", shape: "[Σ n_t]" },
    { name: "v", access: "read_write", type: "f32", shape: "[Σ n_t]" },
    { name: "tab", access: "read", type: "u32", shape: "[T, 8]" },
    { name: "chunk_tensor", access: "read", type: "u32", shape: "[chunks]" },
    { name: "partial", access: "read", type: "f32", shape: "[chunks]" },
  ],
  uniforms: {
    chunks: "u32",
    ch: "u32",
    lr: "f32",
    b1: "f32",
    one_minus_b1: "f32",
    b2: "f32",
    one_minus_b2: "f32",
    eps: "f32",
    max_norm: "f32",
  },
  helpers: ["reduce"],
  body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = wg_linear(wid, nwg);
  if (c >= P.chunks) { return; }  // whole padding workgroups
  let mb = P.tab_off + chunk_tensor[P.chunk_tensor_off + c] * 8u;
  let first = tab[mb + 5u];
  var ss = 0.0;
  for (var q = lid; q < tab[mb + 6u]; q += WG) { ss += partial[P.partial_off + first + q]; }
  let norm = sqrt(wg_sum(lid, ss));
  var clip = 1.0;
  if (P.max_norm > 0.0) { clip = min(1.0, P.max_norm / (norm + 1e-6)); }
  let wd = bitcast<f32>(tab[mb + 7u]);
  let j0 = (c - first) * P.ch;
  let j1 = min(tab[mb + 4u], j0 + P.ch);
  let p0 = P.param_off + tab[mb];
  let g0 = P.grad_off + tab[mb + 1u];
  let m0 = P.m_off + tab[mb + 2u];
  let v0 = P.v_off + tab[mb + 3u];
  for (var j = j0 + lid; j < j1; j += WG) {
    let g = grad[g0 + j] * clip;
    let mi = P.b1 * m[m0 + j] + P.one_minus_b1 * g;
    let vi = P.b2 * v[v0 + j] + P.one_minus_b2 * g * g;
    m[m0 + j] = mi;
    v[v0 + j] = vi;
    let p = param[p0 + j];
    param[p0 + j] = p - P.lr * (mi / (sqrt(vi) + P.eps) + wd * p);
  }
}`,
};
