/**
 * bert_adam: BertAdam's update (kernels/bert_adam.ts) after sum_squares_partial: every workgroup adds the
 * `nparts` partial sums of g² (same order in every workgroup), takes the clip factor
 * c = min(1, max_norm / (‖g‖ + 1e-6)) (1 when max_norm ≤ 0), then updates its grid-stride range:
 * m = b1·m + (1 − b1)·c·g, v = b2·v + (1 − b2)·(c·g)², p −= lr·(m / (√v + eps) + wd·p).
 * `one_minus_b1` and `one_minus_b2` come from the host in float64.
 */
import type { KernelDef } from "../kernel.ts";

/** one BertAdam step on a parameter tensor */
export const BERT_ADAM: KernelDef = {
  name: "bert_adam",
  workgroupSize: [256, 1],
  bindings: [
    { name: "param", access: "read_write", type: "f32", shape: "[n]" },
    { name: "grad", access: "read", type: "f32", shape: "[n]" },
    { name: "m", access: "read_write", type: "f32", shape: "[n]" },
    { name: "v", access: "read_write", type: "f32", shape: "[n]" },
    { name: "partial", access: "read", type: "f32", shape: "[nparts]" },
  ],
  uniforms: {
    n: "u32",
    groups: "u32",
    nparts: "u32",
    lr: "f32",
    wd: "f32",
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
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var ss = 0.0;
  for (var q = lid; q < P.nparts; q += WG) { ss += partial[P.partial_off + q]; }
  let norm = sqrt(wg_sum(lid, ss));
  var clip = 1.0;
  if (P.max_norm > 0.0) { clip = min(1.0, P.max_norm / (norm + 1e-6)); }
  for (var i = wid.x * WG + lid; i < P.n; i += P.groups * WG) {
    let g = grad[P.grad_off + i] * clip;
    let mi = P.b1 * m[P.m_off + i] + P.one_minus_b1 * g;
    let vi = P.b2 * v[P.v_off + i] + P.one_minus_b2 * g * g;
    m[P.m_off + i] = mi;
    v[P.v_off + i] = vi;
    let p = param[P.param_off + i];
    param[P.param_off + i] = p - P.lr * (mi / (sqrt(vi) + P.eps) + P.wd * p);
  }
}`,
};
