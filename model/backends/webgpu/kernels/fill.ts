/** fill: out[i] = value (raw 32-bit pattern, so float and int32 tensors share it). */
import { elementwise } from "./elementwise.ts";

/** out[i] = bits */
export const FILL = elementwise(
  "fill",
  [{ name: "out", access: "read_write", type: "u32", shape: "[n]" }],
  "out[P.out_off + i] = P.bits;",
  { uniforms: { bits: "u32" } },
);
