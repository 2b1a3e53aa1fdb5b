/** bce_partial: stage 1 of BCE-with-logits: Σ max(x, 0) − x·y + log(1 + e^−|x|) over grid-stride ranges. */
import { partialSumKernel } from "./partials.ts";

/** partial sums of the element-wise BCE-with-logits terms */
export const BCE_PARTIAL = partialSumKernel(
  "bce_partial",
  [
    { name: "logits", access: "read", type: "f32", shape: "[B, A]" },
    { name: "targets", access: "read", type: "f32", shape: "[B, A]" },
  ],
  `let x = logits[P.logits_off + i];
  return max(x, 0.0) - x * targets[P.targets_off + i] + log(1.0 + exp(-abs(x)));`,
);
