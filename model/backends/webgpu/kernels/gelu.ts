/** gelu: out = x·Φ(x), exact erf form (gelu_f32, the twin of the reference's float32 GELU). */
import { elementwise } from "./elementwise.ts";

/** out[i] = gelu(x[i]) */
export const GELU = elementwise(
  "gelu",
  [
    { name: "x", access: "read", type: "f32", shape: "[n]" },
    { name: "out", access: "read_write", type: "f32", shape: "[n]" },
  ],
  "out[P.out_off + i] = gelu_f32(x[P.x_off + i]);",
  { helpers: ["erf"] },
);
