/** axpy: y += alpha · x. */
import { elementwise } from "./elementwise.ts";

/** y[i] += alpha · x[i] */
export const AXPY = elementwise(
  "axpy",
  [
    { name: "x", access: "read", type: "f32", shape: "[n]" },
    { name: "y", access: "read_write", type: "f32", shape: "[n]" },
  ],
  "y[P.y_off + i] = y[P.y_off + i] + P.alpha * x[P.x_off + i];",
  { uniforms: { alpha: "f32" } },
);
