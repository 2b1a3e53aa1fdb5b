/**
 * gelu_with_grad: out = x·Φ(x) and grad = Φ(x) + x·φ(x) (training forward: the backward is then a `mul`).
 * One erfc polynomial and one exp serve both (gelu_f32_with_grad in wgsl.ts).
 */
import { elementwise } from "./elementwise.ts";

/** out[i] = gelu(x[i]), grad[i] = gelu'(x[i]) */
export const GELU_WITH_GRAD = elementwise(
  "gelu_with_grad",
  [
    { name: "x", access: "read", type: "f32", shape: "[n]" },
    { name: "out", access: "read_write", type: "f32", shape: "[n]" },
    { name: "grad", access: "read_write", type: "f32", shape: "[n]" },
  ],
  `let v = gelu_f32_with_grad(x[P.x_off + i]);
  out[P.out_off + i] = v.x;
  grad[P.grad_off + i] = v.y;`,
  { helpers: ["erf"] },
);
