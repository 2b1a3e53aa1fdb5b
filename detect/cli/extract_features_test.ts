/**
 * `extract-features` end to end: the small detector over the test images (a 4:2:0 JPEG named as COCO's, an
 * EXIF-rotated JPEG, a grayscale JPEG, a CMYK JPEG, a PNG with alpha, a corrupt JPEG), then `check-data` and
 * `decode` (the vlp-tiny model of the shared fixtures) on the result unchanged; a rerun resumes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DETECT_TESTDATA, runCli, SMALL_DETECTOR_FLAGS, tinyVlpFlags } from "@vlp/testing";
import { H5File } from "@vlp/io";

const TESTDATA = DETECT_TESTDATA;
const EXTRACT = [
  ...SMALL_DETECTOR_FLAGS,
  "--images",
  join(TESTDATA, "images"),
  "--dataset",
  "coco",
];

Deno.test("extract-features → check-data → decode on a folder of test images; a rerun resumes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const root = join(dir, "root");
    const r = await runCli("detect/cli/extract_features.ts", [...EXTRACT, "--out", root]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      {
        images: r.json!.images,
        extracted: r.json!.extracted,
        skipped: r.json!.skipped,
        resumed: r.json!.resumed,
      },
      { images: 6, extracted: 5, skipped: 1, resumed: 0 },
    );
    assert.match(r.stderr, /skipped ".*corrupt\.jpg": Cannot decode image/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");

    const ds = JSON.parse(await Deno.readTextFile(join(root, "dataset_coco.json")));
    const names = ds.images.map((i: { filename: string; source: string }) => `${i.source}=${i.filename}`);
    assert.deepEqual(names, [
      "COCO_val2014_000000000042.jpg=COCO_val2014_000000000042.jpg",
      "alpha.png=COCO_images_000000000001.jpg",
      "cmyk.jpg=COCO_images_000000000002.jpg",
      "gray.jpg=COCO_images_000000000003.jpg",
      "sideways.jpg=COCO_images_000000000004.jpg",
    ]);
    const shard = await H5File.open(
      join(root, "feat_cls_1000", "coco_detection_vg_100dets_gvd_checkpoint_trainval_feat042.h5"),
    );
    const info = shard.info("COCO_val2014_000000000042");
    shard.close();
    assert.deepEqual([info.dtype, info.shape], ["float16", [100, 2048]]);

    const check = await runCli("features/cli/check_data.ts", [
      "--dataset",
      "coco",
      "--src-file",
      join(root, "dataset_coco.json"),
      "--image-root",
      root,
      "--file-valid-jpgs",
      join(root, "coco_valid_jpgs.json"),
      "--split",
      "test",
    ]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.json!.checked, 5);

    const out = join(dir, "captions.json");
    const dec = await runCli("decode/cli/decode.ts", [
      ...(await tinyVlpFlags(dir)),
      "--image_root",
      root,
      "--src_file",
      join(root, "dataset_coco.json"),
      "--split",
      "test",
      "--output_file",
      out,
      "--no_eval",
      "--backend",
      "reference",
    ]);
    assert.equal(dec.code, 0, dec.stderr);
    const caps = JSON.parse(await Deno.readTextFile(out)) as { image_id: number; caption: string }[];
    assert.deepEqual(caps.map((c) => c.image_id), [42, 1, 2, 3, 4]);
    assert.ok(caps.every((c) => c.caption.length > 0));

    const again = await runCli("detect/cli/extract_features.ts", [...EXTRACT, "--out", root]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([again.json!.extracted, again.json!.resumed, again.json!.skipped], [0, 5, 1]);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(root, "dataset_coco.json"))), ds);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract-features: missing weights, a bad blob and --out = --images are one-line errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await runCli("detect/cli/extract_features.ts", [
      ...EXTRACT.slice(2),
      "--detector_weights",
      join(dir, "none.pkl"),
      "--out",
      join(dir, "o"),
    ]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /none\.pkl/);
    assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
    // the released config against the small weights: the first blob of another shape is named
    const wrong = await runCli("detect/cli/extract_features.ts", [
      "--detector_weights",
      join(TESTDATA, "small_detector.pkl"),
      "--images",
      join(TESTDATA, "images"),
      "--out",
      join(dir, "o"),
    ]);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /small_detector\.pkl": blob "conv1_w" has shape \[8, 3, 7, 7\], expected \[64, 3, 7, 7\]/,
    );
    const same = await runCli("detect/cli/extract_features.ts", [
      ...EXTRACT,
      "--out",
      join(TESTDATA, "images"),
    ]);
    assert.equal(same.code, 2);
    assert.match(same.stderr, /--out/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
