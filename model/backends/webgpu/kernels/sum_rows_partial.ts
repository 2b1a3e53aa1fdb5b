/**
 * sum_rows_partial: partial[k, j] = Σ_{r in chunk k} x[r, j], chunks of `chunk_rows` rows; one invocation per
 * (k, j). The first stage of a deterministic two-stage column sum (sum_rows adds the chunks).
 */
import type { KernelDef } from "../kernel.ts";
import { chunkColumnMain } from "./rows.ts";

/** per-chunk column sums */
export const SUM_ROWS_PARTIAL: KernelDef = {
  name: "sum_rows_partial",
  workgroupSize: [256, 1],
  bindings: [
    { name: "x", access: "read", type: "f32", shape: "[rows, n]" },
    { name: "partial", access: "read_write", type: "f32", shape: "[chunks, n]" },
  ],
  uniforms: { rows: "u32", n: "u32", chunk_rows: "u32", chunks: "u32" },
  body: chunkColumnMain("n", "j") + /* wgsl */ `
  var acc = 0.0;
  for (var r = k * P.chunk_rows; r < r1; r++) { acc += x[P.x_off + r * P.n + j]; }
  partial[P.partial_off + k * P.n + j] = acc;
}`,
};
