/**
 * cross_entropy: losses[n] = −log softmax(logits[n, :])[t] (t = targets[n]), or with label smoothing ε the
 * KL form of kernels/losses.ts: Σq log q − (qt·logp_t + qo·Σ_{v≠0,t} logp_v), 0 for target 0. One
 * workgroup of 256 per row; `qt`, `qo`, `qlogq` come from the host (float64). Targets outside [0, V) are
 * reported through the status word.
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** per-row (label-smoothed) cross entropy */
export const CROSS_ENTROPY: KernelDef = {
  name: "cross_entropy",
  workgroupSize: [256, 1],
  status: true,
  bindings: [
    { name: "logits", access: "read", type: "f32", shape: "[N, V]" },
    { name: "targets", access: "read", type: "i32", shape: "[N]" },
    { name: "losses", access: "read_write", type: "f32", shape: "[N]" },
  ],
  uniforms: { rows: "u32", v: "u32", smoothing: "u32", qt: "f32", qo: "f32", qlogq: "f32" },
  helpers: ["reduce"],
  body: /* wgsl */ `
var<workgroup> w_target: i32;
` + ROW_MAIN + /* wgsl */ `
  if (lid == 0u) { w_target = targets[P.targets_off + row]; }
  let t = workgroupUniformLoad(&w_target);
  if (t < 0 || u32(t) >= P.v) {
    if (lid == 0u) { report_oob(row, t, P.v); }
    return;
  }
  let xo = P.logits_off + row * P.v;
  var mx = -3.4028235e38;
  for (var j = lid; j < P.v; j += WG) { mx = max(mx, logits[xo + j]); }
  mx = wg_max(lid, mx);
  var se = 0.0;
  var sl = 0.0;
  for (var j = lid; j < P.v; j += WG) {
    let x = logits[xo + j];
    se += exp(x - mx);
    sl += x;
  }
  let lse = mx + log(wg_sum(lid, se));
  let sum_logits = wg_sum(lid, sl);
  if (lid != 0u) { return; }
  let logp_t = logits[xo + u32(t)] - lse;
  var loss = -logp_t;
  if (P.smoothing != 0u) {
    if (t == 0) {
      loss = 0.0;
    } else {
      let logp_0 = logits[xo] - lse;
      let others = sum_logits - f32(P.v) * lse - logp_0 - logp_t;   // Σ_{v≠0,t} logp_v
      loss = P.qlogq - (P.qt * logp_t + P.qo * others);
    }
  }
  losses[P.losses_off + row] = loss;
}`,
};
