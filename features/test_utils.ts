/**
 * Test helpers of the features member (not exported by it).
 *
 * @module
 */
import type { NdArray } from "@vlp/io";
import type { Rng } from "@vlp/testing";

/** `[R, 6]` plausible boxes: x1 ≤ x2, y1 ≤ y2 in pixels, a class index, a confidence. */
export function boxes(rng: Rng, R = 100): NdArray {
  const data = new Float32Array(R * 6);
  for (let r = 0; r < R; r++) {
    const x = rng.float() * 500, y = rng.float() * 400;
    data.set([x, y, x + 1 + rng.float() * 100, y + 1 + rng.float() * 100, r % 1601, rng.float()], r * 6);
  }
  return { dtype: "float32", shape: [R, 6], data };
}
