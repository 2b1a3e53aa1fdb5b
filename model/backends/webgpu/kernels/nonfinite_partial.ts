/**
 * nonfinite_partial: stage 1 of counting the elements of x that are Inf or NaN (exponent bits all ones,
 * read from the bit pattern so that no compiler may assume finite floats); reduce_partials adds the
 * counts. The overflow check of --fp16's dynamic loss scale. Its twin is `!Number.isFinite` on the host.
 */
import { partialSumKernel } from "./partials.ts";

/** partial counts of non-finite elements */
export const NONFINITE_PARTIAL = partialSumKernel(
  "nonfinite_partial",
  [{ name: "x", access: "read", type: "u32", shape: "[n] float32 bits" }],
  `return select(0.0, 1.0, (x[P.x_off + i] & 0x7f800000u) == 0x7f800000u);`,
);
