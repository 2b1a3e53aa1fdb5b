/**
 * bert_adam: BertAdam's update (kernels/bert_adam.ts) after sum_squares_partial: every workgroup adds the
 * `nparts` partial sums of g² (same order in every workgroup), takes the clip factor
 * c = min(1, max_norm / (‖g‖ + 1e-6)) (1 when max_norm ≤ 0), then updates its grid-stride range:
 * m = b1·m + (1 − b1)·c·g, v = b2·v + (1 − b2)·(c·g)², p −= lr·(m / (√v + eps) + wd·p).
 * `one_minus_b1` and `one_minus_b2` come from the host in float64.
 */
import type { BindingDef, KernelDef, UniformType } from "../kernel.ts";

/** The four tensors every BertAdam kernel updates (or reads: grad), in this order. */
export const ADAM_BINDINGS: readonly BindingDef[] = [
  { name: "param", access: "read_write", type: "f32", shape: "[n]" },
  { name: "grad", access: "read", type: "f32", shape: "[n]" },
  { name: "m", access: "read_write", type: "f32", shape: "[n]" },
  { name: "v", access: "read_write", type: "f32", shape: "[n]" },
];

/** The hyper-parameters every BertAdam kernel takes (weight decay aside). */
export const ADAM_UNIFORMS: Readonly<Record<string, UniformType>> = {
  lr: "f32",
  b1: "f32",
  one_minus_b1: "f32",
  b2: "f32",
  one_minus_b2: "f32",
  eps: "f32",
  max_norm: "f32",
};

/** WGSL of the BertAdam kernels: the clip factor of a norm, and the update of one element. */
export const ADAM_WGSL = /* wgsl */ `
// c = min(1, max_norm / (‖g‖ + 1e-6)); 1 when max_norm ≤ 0
fn adam_clip(norm: f32) -> f32 {
  if (P.max_norm > 0.0) { return min(1.0, P.max_norm / (norm + 1e-6)); }
  return 1.0;
}
// element j of the tensors at param[p0..], grad[g0..], m[m0..], v[v0..]
fn adam_step(p0: u32, g0: u32, m0: u32, v0: u32, j: u32, clip: f32, wd: f32) {
  let g = grad[g0 + j] * clip;
  let mi = P.b1 * m[m0 + j] + P.one_minus_b1 * g;
  let vi = P.b2 * v[v0 + j] + P.one_minus_b2 * g * g;
  m[m0 + j] = mi;
  v[v0 + j] = vi;
  let p = param[p0 + j];
  param[p0 + j] = p - P.lr * (mi / (sqrt(vi) + P.eps) + wd * p);
}`;

/** one BertAdam step on a parameter tensor */
export const BERT_ADAM: KernelDef = {
  name: "bert_adam",
  workgroupSize: [256, 1],
  bindings: [...ADAM_BINDINGS, { name: "partial", access: "read", type: "f32", shape: "[nparts]" }],
  uniforms: { n: "u32", groups: "u32", nparts: "u32", wd: "f32", ...ADAM_UNIFORMS },
  helpers: ["reduce"],
  body: /* wgsl */ `${ADAM_WGSL}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var ss = 0.0;
  for (var q = lid; q < P.nparts; q += WG) { ss += partial[P.partial_off + q]; }
  let clip = adam_clip(sqrt(wg_sum(lid, ss)));
  for (var i = wid.x * WG + lid; i < P.n; i += P.groups * WG) {
    adam_step(P.param_off, P.grad_off, P.m_off, P.v_off, i, clip, P.wd);
  }
}`,
};
