/**
 * masked_loss_reduce: VLP's masked-LM reduction with drop-worst (kernels/losses.ts) in one workgroup of
 * 256: per example sₑ = Σₚ loss·w and wₑ = Σₚ w; example e is kept when fewer than `keep` examples rank
 * before it (smaller sₑ, ties by index: the reference's stable sort); loss = Σ_kept sₑ / (Σ_kept wₑ + 1e-5);
 * coef[e, p] = scale·w/denominator for kept examples, 0 otherwise; `has_normalizer` = 1 replaces the
 * denominator by `normalizer`. `scratch` holds sₑ, wₑ and the keep flags [3, B].
 */
import type { KernelDef } from "../kernel.ts";

/** masked-LM loss reduction and its backward coefficients */
export const MASKED_LOSS_REDUCE: KernelDef = {
  name: "masked_loss_reduce",
  workgroupSize: [256, 1],
  bindings: [
    { name: "losses", access: "read", type: "f32", shape: "[B, P]" },
    { name: "weights", access: "read", type: "f32", shape: "[B, P]" },
    { name: "out", access: "read_write", type: "f32", shape: "[1]" },
    { name: "coef", access: "read_write", type: "f32", shape: "[B, P]" },
    { name: "scratch", access: "read_write", type: "f32", shape: "[3, B]" },
  ],
  uniforms: { b: "u32", p: "u32", keep: "u32", scale: "f32", has_normalizer: "u32", normalizer: "f32" },
  helpers: ["reduce"],
  body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(local_invocation_index) lid: u32) {
  let so = P.scratch_off;
  for (var e = lid; e < P.b; e += WG) {
    var s = 0.0;
    var w = 0.0;
    for (var q = 0u; q < P.p; q++) {
      let wt = weights[P.weights_off + e * P.p + q];
      s += losses[P.losses_off + e * P.p + q] * wt;
      w += wt;
    }
    scratch[so + e] = s;
    scratch[so + P.b + e] = w;
  }
  storageBarrier();
  var kept_w = 0.0;
  for (var e = lid; e < P.b; e += WG) {
    let s = scratch[so + e];
    var rank = 0u;
    for (var q = 0u; q < P.b; q++) {
      let t = scratch[so + q];
      if (t < s || (t == s && q < e)) { rank++; }
    }
    let keep = rank < P.keep;
    scratch[so + 2u * P.b + e] = select(0.0, 1.0, keep);
    if (keep) { kept_w += scratch[so + P.b + e]; }
  }
  var denom = wg_sum(lid, kept_w) + 1e-5;
  if (P.has_normalizer != 0u) { denom = P.normalizer; }
  var loss = 0.0;
  for (var e = lid; e < P.b; e += WG) {
    let keep = scratch[so + 2u * P.b + e] > 0.5;
    if (keep) { loss += scratch[so + e] / denom; }
    for (var q = 0u; q < P.p; q++) {
      let at = e * P.p + q;
      coef[P.coef_off + at] = select(0.0, P.scale * weights[P.weights_off + at] / denom, keep);
    }
  }
  let total = wg_sum(lid, loss);
  if (lid == 0u) { out[P.out_off] = total; }
}`,
};
