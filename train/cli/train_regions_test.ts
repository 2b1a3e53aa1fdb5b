/**
 * train never trains on bad numbers: region features with a NaN stop it with the image, the file and the
 * first bad element (the check of `@vlp/features`' loader), exit 1, every input byte-identical.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FileSnapshot, runCli } from "@vlp/testing";
import { featureId, type ImageRegions, loadKarpathy, RegionReader, writeRegionFiles } from "@vlp/features";
import { COCO, COCO_FLAGS, TINY_MODEL_FLAGS } from "./test_utils.ts";

Deno.test("train stops on a NaN region feature, naming the image, the file and the element", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp_train_nan_" });
  try {
    const karpathy = await loadKarpathy(join(COCO, "dataset_coco.json"));
    const reader = RegionReader.open({ dataset: "coco", imageRoot: join(COCO, "region_feat_gvd_wo_bgd") });
    const images = new Map<string, ImageRegions>();
    for (const img of karpathy.images) {
      const r = await reader.read(featureId(img));
      images.set(featureId(img), { ...r, feats: { ...r.feats, data: r.feats.data.slice() } });
    }
    reader.close();
    images.get("COCO_train2014_000000554625")!.feats.data[2048 + 100] = NaN;
    const root = join(dir, "feats");
    await writeRegionFiles(images, { dataset: "coco", imageRoot: root });
    const flags = COCO_FLAGS.map((a, i) => (COCO_FLAGS[i - 1] === "--image_root" ? root : a));
    const inputs = await FileSnapshot.of(root, COCO);
    const r = await runCli("train/cli/train.ts", [
      ...TINY_MODEL_FLAGS,
      ...flags,
      ...["--output_dir", join(dir, "out"), "--num_train_epochs", "1", "--train_batch_size", "2"],
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /\ntrain: Cannot load regions of coco image "COCO_train2014_000000554625": feats in ".*_feat625\.h5" has NaN at \[1, 100\] \(element 2148\)/,
    );
    assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
    await assert.rejects(Deno.stat(join(dir, "out", "model.1.bin")), Deno.errors.NotFound);
    await inputs.assertUnchanged();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
