/** Per-channel bias and optional ReLU in place (twin: `biasRelu` of ../../ops.ts). */
import { elementwise, type KernelDef } from "@vlp/model";

/** out[c, j] = relu?(out[c, j] + bias[c]) over `[cout, hw]`. */
export const BIAS_ACT: KernelDef = elementwise(
  "detect_bias_act",
  [
    { name: "bias", access: "read", type: "f32", shape: "[cout]" },
    { name: "out", access: "read_write", type: "f32", shape: "[cout, hw]" },
  ],
  `var v = out[P.out_off + i] + bias[P.bias_off + i / P.hw];
  if (P.relu != 0u) { v = max(v, 0.0); }
  out[P.out_off + i] = v;`,
  { uniforms: { hw: "u32", relu: "u32" } },
);
