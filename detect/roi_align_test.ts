import { assertClose, Rng } from "@vlp/testing";
import { roiAlign, roiAlignRef } from "./roi_align.ts";
import type { FeatureMap } from "./ops.ts";

Deno.test("roiAlign (taps merged per bin) = its plain twin: small, large, off-map RoIs, ratios 2 and 0", () => {
  const rng = new Rng(8), c = 3, h = 11, w = 14, res = 3;
  const x: FeatureMap = { c, h, w, data: Float32Array.from({ length: c * h * w }, () => rng.normal()) };
  const boxes: number[] = [
    [2, 3, 4, 5], // a few pixels: the samples share pixels
    [0, 0, 13, 10], // the whole map
    [-6, -4, 3, 2], // partly off the map
    [20, 15, 30, 25], // wholly off the map
    [5.3, 1.7, 5.4, 1.9], // under a pixel
  ].flat();
  for (let r = 0; r < 20; r++) {
    const x1 = rng.uniform(-3, w + 1), y1 = rng.uniform(-3, h + 1);
    boxes.push(x1, y1, x1 + rng.uniform(0, 12), y1 + rng.uniform(0, 12));
  }
  const n = boxes.length / 4, per = c * res * res;
  for (const ratio of [2, 0]) {
    for (const scale of [1, 0.5]) {
      const got = new Float32Array(n * per), want = new Float32Array(n * per);
      for (let i = 0; i < n; i++) {
        roiAlign(x, boxes, i, scale, res, ratio, got, i * per);
        roiAlignRef(x, boxes, i, scale, res, ratio, want, i * per);
      }
      assertClose(Float64Array.from(got), Float64Array.from(want), {
        atol: 1e-6,
        rtol: 1e-6,
        name: `ratio ${ratio} scale ${scale}`,
      });
    }
  }
});
