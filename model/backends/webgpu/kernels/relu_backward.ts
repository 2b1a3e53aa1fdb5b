/** relu_backward: dx = dout · [y > 0], from the ReLU output y (written). */
import { elementwise } from "./elementwise.ts";

/** dx[i] = y[i] > 0 ? dout[i] : 0 */
export const RELU_BACKWARD = elementwise(
  "relu_backward",
  [
    { name: "y", access: "read", type: "f32", shape: "[n]" },
    { name: "dout", access: "read", type: "f32", shape: "[n]" },
    { name: "dx", access: "read_write", type: "f32", shape: "[n]" },
  ],
  "dx[P.dx_off + i] = select(0.0, dout[P.dout_off + i], y[P.y_off + i] > 0.0);",
);
