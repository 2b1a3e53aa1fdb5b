/**
 * cross_entropy_backward: dlogits[n, :] = g·(softmax(logits[n, :])·Σq − q), g = dlosses[n] (written): q is
 * one-hot at the target, or with smoothing qt at the target, 0 at id 0 and qo elsewhere (Σq = 1 either
 * way); rows with g = 0, and smoothed rows with target 0, are zero. One workgroup of 256 per row.
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** cross-entropy gradient per row */
export const CROSS_ENTROPY_BACKWARD: KernelDef = {
  name: "cross_entropy_backward",
  workgroupSize: [256, 1],
  bindings: [
    { name: "logits", access: "read", type: "f32", shape: "[N, V]" },
    { name: "targets", access: "read", type: "i32", shape: "[N]" },
    { name: "dlosses", access: "read", type: "f32", shape: "[N]" },
    { name: "dlogits", access: "read_write", type: "f32", shape: "[N, V]" },
  ],
  uniforms: { rows: "u32", v: "u32", smoothing: "u32", qt: "f32", qo: "f32" },
  helpers: ["reduce"],
  body: /* wgsl */ `
var<workgroup> w_target: i32;
var<workgroup> w_g: f32;
` + ROW_MAIN + /* wgsl */ `
  if (lid == 0u) {
    w_target = targets[P.targets_off + row];
    w_g = dlosses[P.dlosses_off + row];
  }
  let t = workgroupUniformLoad(&w_target);
  let g = workgroupUniformLoad(&w_g);
  let xo = P.logits_off + row * P.v;
  let oo = P.dlogits_off + row * P.v;
  if (g == 0.0 || (P.smoothing != 0u && t == 0)) {
    for (var j = lid; j < P.v; j += WG) { dlogits[oo + j] = 0.0; }
    return;
  }
  var mx = -3.4028235e38;
  for (var j = lid; j < P.v; j += WG) { mx = max(mx, logits[xo + j]); }
  mx = wg_max(lid, mx);
  var se = 0.0;
  for (var j = lid; j < P.v; j += WG) { se += exp(logits[xo + j] - mx); }
  let inv = 1.0 / wg_sum(lid, se);
  for (var j = lid; j < P.v; j += WG) {
    var q = select(0.0, 1.0, i32(j) == t);
    if (P.smoothing != 0u) { q = select(select(P.qo, 0.0, j == 0u), P.qt, i32(j) == t); }
    dlogits[oo + j] = g * (exp(logits[xo + j] - mx) * inv - q);
  }
}`,
};
