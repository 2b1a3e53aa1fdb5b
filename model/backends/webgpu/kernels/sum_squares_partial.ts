/** sum_squares_partial: stage 1 of a gradient's squared L2 norm: Σ g² over grid-stride ranges. */
import { partialSumKernel } from "./partials.ts";

/** partial sums of g² */
export const SUM_SQUARES_PARTIAL = partialSumKernel(
  "sum_squares_partial",
  [{ name: "x", access: "read", type: "f32", shape: "[n]" }],
  `let v = x[P.x_off + i];
  return v * v;`,
);
