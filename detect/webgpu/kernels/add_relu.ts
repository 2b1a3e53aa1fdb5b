/** A residual block's end: a = max(0, a + b), in place (twin: `addRelu` of ../../ops.ts). */
import { elementwise, type KernelDef } from "@vlp/model";

/** a[i] = max(0, a[i] + b[i]). */
export const ADD_RELU: KernelDef = elementwise(
  "detect_add_relu",
  [
    { name: "b", access: "read", type: "f32", shape: "[n]" },
    { name: "a", access: "read_write", type: "f32", shape: "[n]" },
  ],
  `a[P.a_off + i] = max(0.0, a[P.a_off + i] + b[P.b_off + i]);`,
);
