/**
 * dropout: out = x · keep / (1 − p), keep = dropout_hash(base + i, seed) ≥ threshold, the mask of
 * kernels/dropout.ts bit for bit (u32 arithmetic). The backward is the same kernel on dout with the same
 * seed. `base` is the element index of this dispatch's first element (calls split by binding size).
 */
import { elementwise } from "./elementwise.ts";

/** out[i] = keep(base + i) ? x[i] · scale : 0 */
export const DROPOUT = elementwise(
  "dropout",
  [
    { name: "x", access: "read", type: "f32", shape: "[n]" },
    { name: "out", access: "read_write", type: "f32", shape: "[n]" },
  ],
  `let keep = dropout_hash(P.base + i, P.seed) >= P.threshold;
  out[P.out_off + i] = select(0.0, x[P.x_off + i] * P.scale, keep);`,
  { uniforms: { base: "u32", seed: "u32", threshold: "u32", scale: "f32" }, helpers: ["hash"] },
);
