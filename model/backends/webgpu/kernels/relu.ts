/** relu: out = max(x, 0). */
import { elementwise } from "./elementwise.ts";

/** out[i] = max(x[i], 0) */
export const RELU = elementwise(
  "relu",
  [
    { name: "x", access: "read", type: "f32", shape: "[n]" },
    { name: "out", access: "read_write", type: "f32", shape: "[n]" },
  ],
  "let v = x[P.x_off + i];\n  out[P.out_off + i] = select(0.0, v, v > 0.0);",
);
