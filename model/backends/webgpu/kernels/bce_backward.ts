/** bce_backward: dlogits = g · (σ(logits) − targets), g = scale / B (written). */
import { elementwise } from "./elementwise.ts";

/** dlogits[i] = g · (σ(x[i]) − y[i]) */
export const BCE_BACKWARD = elementwise(
  "bce_backward",
  [
    { name: "logits", access: "read", type: "f32", shape: "[B, A]" },
    { name: "targets", access: "read", type: "f32", shape: "[B, A]" },
    { name: "dlogits", access: "read_write", type: "f32", shape: "[B, A]" },
  ],
  `let x = logits[P.logits_off + i];
  dlogits[P.dlogits_off + i] = P.g * (1.0 / (1.0 + exp(-x)) - targets[P.targets_off + i]);`,
  { uniforms: { g: "f32" } },
);
