/**
 * mul_column_partial (fused): out = a ⊙ b over [rows, N] (written) and the column sums of out over one chunk
 * of `chunk_rows` rows, partial[k, c] = Σ_r∈chunk k out[r, c]; one invocation per (k, c). The FFN's GELU
 * backward with its Linear's bias gradient: dpre = dact ⊙ gelu'(pre), db += Σ_r dpre (sum_chunks adds the
 * chunks in order). The unfused twin is `mul` then `sumRows` (fused_test.ts).
 */
import type { KernelDef } from "../kernel.ts";

/** out = a ⊙ b and its per-chunk column sums */
export const MUL_COLUMN_PARTIAL: KernelDef = {
  name: "mul_column_partial",
  workgroupSize: [256, 1],
  bindings: [
    { name: "a", access: "read", type: "f32", shape: "[rows, N]" },
    { name: "b", access: "read", type: "f32", shape: "[rows, N]" },
    { name: "out", access: "read_write", type: "f32", shape: "[rows, N]" },
    { name: "partial", access: "read_write", type: "f32", shape: "[chunks, N]" },
  ],
  uniforms: { rows: "u32", n: "u32", chunk_rows: "u32", chunks: "u32" },
  body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wg_linear(wid, nwg) * WG + lid;
  let c = t % P.n;
  let k = t / P.n;
  if (k >= P.chunks) { return; }
  let r1 = min(P.rows, (k + 1u) * P.chunk_rows);
  var s = 0.0;
  for (var r = k * P.chunk_rows; r < r1; r++) {
    let v = a[P.a_off + r * P.n + c] * b[P.b_off + r * P.n + c];
    out[P.out_off + r * P.n + c] = v;
    s += v;
  }
  partial[P.partial_off + k * P.n + c] = s;
}`,
};
