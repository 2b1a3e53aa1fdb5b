/**
 * softmax_dropout_backward (fused): the backward of softmax_dropout for one row: dp = dpd · keep/(1 − p)
 * (the forward's mask for element `g·Lk + j`), dx = p ⊙ (dp − Σ p·dp) (written). The unfused twin is
 * dropout then softmax_backward (fused_test.ts). One workgroup of 64 per row.
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** dx = p ⊙ (dp − ⟨p, dp⟩), dp = dropout backward of dpd */
export const SOFTMAX_DROPOUT_BACKWARD: KernelDef = {
  name: "softmax_dropout_backward",
  workgroupSize: [64, 1],
  bindings: [
    { name: "p", access: "read", type: "f32", shape: "[rows, Lk]" },
    { name: "dpd", access: "read", type: "f32", shape: "[rows, Lk]" },
    { name: "dx", access: "read_write", type: "f32", shape: "[rows, Lk]" },
  ],
  uniforms: { rows: "u32", row_base: "u32", lk: "u32", seed: "u32", threshold: "u32", scale: "f32" },
  helpers: ["reduce", "hash"],
  body: ROW_MAIN + /* wgsl */ `
  let g = P.row_base + row;
  let o = row * P.lk;
  var dot = 0.0;
  for (var j = lid; j < P.lk; j += WG) {
    let keep = dropout_hash(g * P.lk + j, P.seed) >= P.threshold;
    dot += p[P.p_off + o + j] * select(0.0, dpd[P.dpd_off + o + j] * P.scale, keep);
  }
  dot = wg_sum(lid, dot);
  for (var j = lid; j < P.lk; j += WG) {
    let keep = dropout_hash(g * P.lk + j, P.seed) >= P.threshold;
    let dp = select(0.0, dpd[P.dpd_off + o + j] * P.scale, keep);
    dx[P.dx_off + o + j] = p[P.p_off + o + j] * (dp - dot);
  }
}`,
};
