/** scale: x[i] = alpha · x[i] in place (the unscaling of --fp16's loss-scaled gradients). */
import { elementwise } from "./elementwise.ts";

/** x *= alpha */
export const SCALE = elementwise(
  "scale",
  [{ name: "x", access: "read_write", type: "f32", shape: "[n]" }],
  `x[P.x_off + i] = P.alpha * x[P.x_off + i];`,
  { uniforms: { alpha: "f32" } },
);
