import assert from "node:assert/strict";
import { join } from "node:path";
import { fixturePath, plausibleBoxes, Rng } from "@vlp/testing";
import { DEFAULT_LAYOUTS, type ImageRegions, writeRegionFiles } from "@vlp/features";
import { findRegionProblems } from "./preflight.ts";

const root = join(fixturePath("fixtures/vlp-formats/COCO"), "region_feat_gvd_wo_bgd");
const opts = { dataset: "coco" as const, imageRoot: root, layout: DEFAULT_LAYOUTS.coco };

Deno.test("findRegionProblems: present images pass; missing entries, files, wrong shapes and bad values are listed", async () => {
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
  assert.match(
    bad[0],
    /"COCO_val2014_000000184613": .*_feat613\.h5" dataset .* has shape \[100, 2048\], expected \[100, 1024\]/,
  );
  assert.match(bad[1], /image "COCO_val2014_000000999613" is missing from ".*_feat613\.h5"/);
  assert.match(bad[4], /"COCO_x_1": ".*_featx_1\.h5" does not exist/);
  // values: a NaN feature and an inverted box, each with the image, the file and where
  const dir = await Deno.makeTempDir();
  try {
    const rng = new Rng(4);
    const one = (): ImageRegions => ({
      feats: { dtype: "float32", shape: [100, 8], data: new Float32Array(800).fill(0.5) },
      cls: { dtype: "float32", shape: [100, 5], data: new Float32Array(500).fill(0.2) },
      bbox: plausibleBoxes(rng, 100, 5),
    });
    const images = new Map([["COCO_v_001", one()], ["COCO_v_002", one()], ["COCO_v_003", one()]]);
    images.get("COCO_v_002")!.feats.data[805 - 800 + 9] = NaN;
    images.get("COCO_v_003")!.bbox.data[4 * 6 + 3] = -100;
    await writeRegionFiles(images, { dataset: "coco", imageRoot: dir });
    const found = await findRegionProblems([...images.keys()].map((imgId) => ({ imgId })), {
      dataset: "coco",
      imageRoot: dir,
      layout: DEFAULT_LAYOUTS.coco,
      dims: { R: 100, F: 8, K: 5 },
    });
    assert.equal(found.length, 2, found.join("\n"));
    assert.match(found[0], /^feats of "COCO_v_002" in ".*_feat002\.h5" has NaN at \[1, 6\] \(element 14\)$/);
    assert.match(found[1], /^bbox of "COCO_v_003" in ".*trainvaltest\.h5" has an absurd box: box 4 /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
