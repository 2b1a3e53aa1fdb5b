/** gelu_backward: dx = dout · (Φ(x) + x·φ(x)) (written). */
import { elementwise } from "./elementwise.ts";

/** dx[i] = dout[i] · gelu'(x[i]) */
export const GELU_BACKWARD = elementwise(
  "gelu_backward",
  [
    { name: "x", access: "read", type: "f32", shape: "[n]" },
    { name: "dout", access: "read", type: "f32", shape: "[n]" },
    { name: "dx", access: "read_write", type: "f32", shape: "[n]" },
  ],
  "dx[P.dx_off + i] = dout[P.dout_off + i] * gelu_grad_f32(x[P.x_off + i]);",
  { helpers: ["erf"] },
);
