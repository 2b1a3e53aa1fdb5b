/** mul: out = a ⊙ b. */
import { elementwise } from "./elementwise.ts";

/** out[i] = a[i] · b[i] */
export const MUL = elementwise(
  "mul",
  [
    { name: "a", access: "read", type: "f32", shape: "[n]" },
    { name: "b", access: "read", type: "f32", shape: "[n]" },
    { name: "out", access: "read_write", type: "f32", shape: "[n]" },
  ],
  "out[P.out_off + i] = a[P.a_off + i] * b[P.b_off + i];",
);
