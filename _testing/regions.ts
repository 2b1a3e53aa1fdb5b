/**
 * Region data for tests: plausible detector boxes (what `@vlp/features`' box checks accept).
 *
 * @module
 */
import type { NdArray } from "@vlp/io";
import type { Rng } from "@vlp/model/rng";

/** `[R, 6]` float32 boxes `x1 ≤ x2, y1 ≤ y2` in pixels, class index `r mod K`, a confidence in [0, 1). */
export function plausibleBoxes(rng: Rng, R = 100, K = 1601): NdArray {
  const data = new Float32Array(R * 6);
  for (let r = 0; r < R; r++) {
    const x = rng.float() * 500, y = rng.float() * 400;
    data.set([x, y, x + 1 + rng.float() * 100, y + 1 + rng.float() * 100, r % K, rng.float()], r * 6);
  }
  return { dtype: "float32", shape: [R, 6], data };
}
