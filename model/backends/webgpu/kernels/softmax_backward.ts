/** softmax_backward: dx = p ⊙ (dp − Σ p·dp) over the last dim (written); one workgroup of 64 per row. */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** dx = p ⊙ (dp − ⟨p, dp⟩) */
export const SOFTMAX_BACKWARD: KernelDef = {
  name: "softmax_backward",
  workgroupSize: [64, 1],
  bindings: [
    { name: "p", access: "read", type: "f32", shape: "[rows, Lk]" },
    { name: "dp", access: "read", type: "f32", shape: "[rows, Lk]" },
    { name: "dx", access: "read_write", type: "f32", shape: "[rows, Lk]" },
  ],
  uniforms: { rows: "u32", lk: "u32" },
  helpers: ["reduce"],
  body: ROW_MAIN + /* wgsl */ `
  let o = row * P.lk;
  var dot = 0.0;
  for (var j = lid; j < P.lk; j += WG) { dot += p[P.p_off + o + j] * dp[P.dp_off + o + j]; }
  dot = wg_sum(lid, dot);
  for (var j = lid; j < P.lk; j += WG) {
    dx[P.dx_off + o + j] = p[P.p_off + o + j] * (dp[P.dp_off + o + j] - dot);
  }
}`,
};
