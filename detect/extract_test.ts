/**
 * extractFeatures in the Flickr30k and CC layouts (per-image npy files; float16 CC shards and the bbox
 * folder), each read back by the data-set checker of `@vlp/features`; an image gets its id only once it
 * has regions; a dataset file not written by extract-features is not resumed from.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkData } from "@vlp/features";
import { createBackend } from "@vlp/model";
import { parseDetectorConfig, readDetectorConfig } from "./config.ts";
import { loadDetectorWeights } from "./weights.ts";
import { Detector } from "./detector.ts";
import { datasetFiles, extractFeatures } from "./extract.ts";

const DIR = new URL("./testdata/", import.meta.url).pathname;
const cfg = await readDetectorConfig(`${DIR}small_detector.json`);
const detector = new Detector(
  cfg,
  await loadDetectorWeights(`${DIR}small_detector.pkl`, cfg),
  createBackend("blas"),
);

for (const dataset of ["flickr30k", "cc"] as const) {
  Deno.test(`extractFeatures: the ${dataset} layout, as the data-set checker reads it`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const images = join(dir, "images"), out = join(dir, "root");
      await Deno.mkdir(images);
      for (const f of ["corrupt.jpg", "gray.jpg", "alpha.png"]) {
        await Deno.copyFile(join(DIR, "images", f), join(images, f));
      }
      const lines: string[] = [];
      const r = await extractFeatures({ detector, images, out, dataset, log: (l) => lines.push(l) });
      assert.deepEqual([r.images, r.extracted, r.failed.length], [3, 2, 1]);
      assert.ok(lines.some((l) => /skipped "corrupt\.jpg"/.test(l)));
      const files = datasetFiles(out, dataset);
      const ds = JSON.parse(await Deno.readTextFile(files.dataset));
      // sorted: alpha.png, corrupt.jpg (no regions, no id), gray.jpg
      assert.deepEqual(ds.images.map((i: { filename: string }) => i.filename), ["1.jpg", "2.jpg"]);
      const report = await checkData({
        dataset,
        srcFile: files.dataset,
        imageRoot: out,
        fileValidJpgs: files.validJpgs,
        splits: ["test"],
      });
      assert.deepEqual([report.checked, report.badImages], [2, 0]);
      if (dataset === "flickr30k") await Deno.stat(join(out, "trainval", "1_cls_prob.npy"));
      else await Deno.stat(join(out, "bbox", "cc_detection_vg_thresh0.2_feat_gvd_checkpoint_trainval.h5"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("extractFeatures: a dataset file of other origin (no source fields) is an error, not overwritten", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "images"));
    const files = datasetFiles(join(dir, "root"), "coco");
    await Deno.mkdir(join(dir, "root"));
    const theirs = JSON.stringify({ images: [{ filename: "COCO_val2014_000000000001.jpg", split: "val" }] });
    await Deno.writeTextFile(files.dataset, theirs);
    await assert.rejects(
      extractFeatures({ detector, images: join(dir, "images"), out: join(dir, "root"), dataset: "coco" }),
      /dataset_coco\.json": it was not written by extract-features/,
    );
    assert.equal(await Deno.readTextFile(files.dataset), theirs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extractFeatures: a 1x1 image (every box at 0, no size for VLP's region vector) is named and skipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "images"));
    // a 1x1 RGB PNG
    const png = Uint8Array.from(
      atob(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC",
      ),
      (c) => c.charCodeAt(0),
    );
    await Deno.writeFile(join(dir, "images", "dot.png"), png);
    const lines: string[] = [];
    const r = await extractFeatures({
      detector,
      images: join(dir, "images"),
      out: join(dir, "root"),
      dataset: "coco",
      log: (l) => lines.push(l),
    });
    assert.deepEqual([r.extracted, r.failed.length], [0, 1]);
    assert.match(
      lines.join("\n"),
      /skipped "dot\.png": bbox of "COCO_images_000000000001" has an absurd box/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extractFeatures: an image with fewer than 100 RoIs gets its rows repeated up to 100, with a note", async () => {
  const json = JSON.parse(await Deno.readTextFile(`${DIR}small_detector.json`));
  const few = parseDetectorConfig({ ...json, TEST: { ...json.TEST, RPN_POST_NMS_TOP_N: 30 } });
  const det = new Detector(
    few,
    await loadDetectorWeights(`${DIR}small_detector.pkl`, few),
    createBackend("blas"),
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "images"));
    await Deno.copyFile(join(DIR, "images", "gray.jpg"), join(dir, "images", "gray.jpg"));
    const lines: string[] = [];
    const r = await extractFeatures({
      detector: det,
      images: join(dir, "images"),
      out: join(dir, "root"),
      dataset: "coco",
      log: (l) => lines.push(l),
    });
    assert.equal(r.extracted, 1);
    assert.ok(
      lines.some((l) => /"gray\.jpg" has 30 RoIs; rows repeated up to 100/.test(l)),
      lines.join("\n"),
    );
    const files = datasetFiles(join(dir, "root"), "coco");
    const report = await checkData({
      dataset: "coco",
      srcFile: files.dataset,
      imageRoot: join(dir, "root"),
      fileValidJpgs: files.validJpgs,
      splits: ["test"],
    });
    assert.deepEqual([report.checked, report.badImages], [1, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
