import assert from "node:assert/strict";
import { join } from "node:path";
import { fixturePath } from "@vlp/testing";
import { DEFAULT_LAYOUTS } from "@vlp/features";
import { findRegionProblems } from "./preflight.ts";

const root = join(fixturePath("fixtures/vlp-formats/COCO"), "region_feat_gvd_wo_bgd");
const opts = { dataset: "coco" as const, imageRoot: root, layout: DEFAULT_LAYOUTS.coco };

Deno.test("findRegionProblems: present images pass; missing entries, files and wrong shapes are listed", async () => {
  let seen = 0;
  const ok = await findRegionProblems([{ imgId: "COCO_val2014_000000184613" }, {
    imgId: "COCO_val2014_000000037777",
  }], {
    ...opts,
    dims: { R: 100, F: 2048, K: 1601 },
    onImage: () => seen++,
  });
  assert.deepEqual(ok, []);
  assert.equal(seen, 2);
  const bad = await findRegionProblems(
    [{ imgId: "COCO_val2014_000000184613" }, { imgId: "COCO_val2014_000000999613" }, { imgId: "COCO_x_1" }],
    { ...opts, dims: { R: 100, F: 1024, K: 1601 } },
  );
  assert.equal(bad.length, 1 + 3 + 3);
  assert.match(bad[0], /feats in .* has shape \[100, 2048\], expected \[100, 1024\]/);
  assert.match(bad[1], /"COCO_val2014_000000999613": missing from feats file/);
  assert.match(bad[4], /"COCO_x_1": feats file: .*no such file/);
});
