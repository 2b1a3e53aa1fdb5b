/** tanh: out = tanh(x) (argument clamped to ±15, see wgsl.ts). */
import { elementwise } from "./elementwise.ts";

/** out[i] = tanh(x[i]) */
export const TANH = elementwise(
  "tanh",
  [
    { name: "x", access: "read", type: "f32", shape: "[n]" },
    { name: "out", access: "read_write", type: "f32", shape: "[n]" },
  ],
  "out[P.out_off + i] = tanh_f32(x[P.x_off + i]);",
  { helpers: ["tanh"] },
);
