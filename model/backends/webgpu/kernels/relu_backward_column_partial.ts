/**
 * relu_backward_column_partial (fused): the backward of dropout(relu(pre)) with the Linear's bias gradient
 * (the region branches), over [rows, N]:
 *
 *   dx[r, c] = [y > 0] · (keep(base + r·N + c) ? dout · scale : 0)   (written; no dropout: [y > 0] · dout)
 *   partial[k, c] = Σ_{r ∈ chunk k} dx[r, c]                          (chunks of `chunk_rows` rows)
 *
 * y is the ReLU output, keep the dropout mask of kernels/dropout.ts at the forward's seed (element index
 * `base` + r·N + c: the dropout ran over the whole tensor). One invocation per (k, c). The unfused twin is
 * `dropoutBackward`, `reluBackward` and `sumRows` (fused_test.ts); the chunks are added in order by
 * sum_chunks, or held back (ops/grad_sums.ts).
 */
import type { KernelDef } from "../kernel.ts";
import { chunkColumnMain } from "./rows.ts";

/** dx = [y > 0] · dropoutBackward(dout) and its per-chunk column sums */
export const RELU_BACKWARD_COLUMN_PARTIAL: KernelDef = {
  name: "relu_backward_column_partial",
  workgroupSize: [256, 1],
  bindings: [
    { name: "y", access: "read", type: "f32", shape: "[rows, N] ReLU output" },
    { name: "dout", access: "read", type: "f32", shape: "[rows, N]" },
    { name: "dx", access: "read_write", type: "f32", shape: "[rows, N]" },
    { name: "partial", access: "read_write", type: "f32", shape: "[chunks, N]" },
  ],
  uniforms: {
    rows: "u32",
    n: "u32",
    chunk_rows: "u32",
    chunks: "u32",
    has_drop: "u32",
    base: "u32",
    seed: "u32",
    threshold: "u32",
    scale: "f32",
  },
  helpers: ["hash"],
  body: chunkColumnMain("n", "c") + /* wgsl */ `
  var s = 0.0;
  for (var r = k * P.chunk_rows; r < r1; r++) {
    let i = r * P.n + c;
    var g = dout[P.dout_off + i];
    if (P.has_drop != 0u) {
      g = select(0.0, g * P.scale, dropout_hash(P.base + i, P.seed) >= P.threshold);
    }
    let v = select(0.0, g, y[P.y_off + i] > 0.0);
    dx[P.dx_off + i] = v;
    s += v;
  }
  partial[P.partial_off + k * P.n + c] = s;
}`,
};
