/**
 * mul_column_partial (fused): out = a ⊙ b over [rows, N] (written) and the column sums of out over one chunk
 * of `chunk_rows` rows, partial[k, c] = Σ_r∈chunk k out[r, c]; one invocation per (k, c). The FFN's GELU
 * backward with its Linear's bias gradient: dpre = dact ⊙ gelu'(pre), db += Σ_r dpre (sum_chunks adds the
 * chunks in order). The unfused twin is `mul` then `sumRows` (fused_test.ts).
 */
import type { KernelDef } from "../kernel.ts";
import { chunkColumnMain } from "./rows.ts";

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
  body: chunkColumnMain("n", "c") + /* wgsl */ `
  var s = 0.0;
  for (var r = k * P.chunk_rows; r < r1; r++) {
    let v = a[P.a_off + r * P.n + c] * b[P.b_off + r * P.n + c];
    out[P.out_off + r * P.n + c] = v;
    s += v;
  }
  partial[P.partial_off + k * P.n + c] = s;
}`,
};
