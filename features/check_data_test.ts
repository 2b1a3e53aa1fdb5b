import { deepEqual, equal, ok } from "node:assert/strict";
import { fixturePath, Rng } from "@vlp/testing";
import { checkData, firstNonFinite } from "./check_data.ts";
import { type NdArray, writeH5 } from "@vlp/io";
import { type ImageRegions, writeRegionFiles } from "./regions.ts";

function arr(rng: Rng, shape: [number, number], dtype: "float16" | "float32" = "float32"): NdArray {
  const n = shape[0] * shape[1];
  const data = dtype === "float16" ? new Float16Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.float() * 10;
  return { dtype, shape, data };
}

/** A small COCO-layout data set with one problem per image; returns the CLI arguments. */
async function damagedDataset(dir: string): Promise<string[]> {
  const rng = new Rng(5);
  const good = (): ImageRegions => ({
    feats: arr(rng, [100, 2048], "float16"),
    cls: arr(rng, [100, 1601], "float16"),
    bbox: arr(rng, [100, 6]),
  });
  const ids = ["COCO_x_000000000101", "COCO_x_000000000102", "COCO_x_000000000103", "COCO_x_000000000104"];
  const more = ["COCO_x_000000000105", "COCO_x_000000000106", "COCO_x_000000000107", "COCO_x_000000000108"];
  const images = new Map<string, ImageRegions>();
  for (const id of [...ids, ...more]) images.set(id, good());
  images.get(ids[1]!)!.feats.data[5 * 2048 + 7] = NaN; // nonfinite
  images.get(ids[2]!)!.cls.data[3] = Infinity; // nonfinite (float16 Inf)
  images.get(ids[3]!)!.feats = arr(rng, [100, 1024], "float16"); // shape
  images.get(more[1]!)!.bbox = { dtype: "int32", shape: [100, 6], data: new Int32Array(600) }; // dtype
  const root = `${dir}/COCO/region_feat_gvd_wo_bgd`;
  await writeRegionFiles(images, { dataset: "coco", imageRoot: root });
  // more[0]: missing from the bbox file; more[2]: its cls shard deleted
  const bboxPath = `${root}/coco_detection_vg_thresh0.2_feat_gvd_checkpoint_trainvaltest.h5`;
  await writeH5(bboxPath, [...images].filter(([id]) => id !== more[0]).map(([id, r]) => [id, r.bbox]));
  await Deno.remove(`${root}/feat_cls_1000/coco_detection_vg_100dets_gvd_checkpoint_trainval_cls107.h5`);
  const all = [...ids, ...more];
  const karpathy = {
    images: all.map((id) => ({
      filename: `${id}.jpg`,
      filepath: "train2014",
      split: id === more[2] ? "test" : "train",
      sentences: [{ raw: "a cat" }],
    })),
  };
  await Deno.writeTextFile(`${dir}/dataset_coco.json`, JSON.stringify(karpathy));
  // more[3], a train image, is left out of valid-jpgs: not checked
  const valid = Object.fromEntries(
    all.filter((id) => id !== more[3]).map((id) => [`${id}.jpg`, `${id}.jpg`]),
  );
  await Deno.writeTextFile(`${dir}/coco_valid_jpgs.json`, JSON.stringify(valid));
  return [
    "--dataset",
    "coco",
    "--src-file",
    `${dir}/dataset_coco.json`,
    "--image-root",
    root,
    "--file-valid-jpgs",
    `${dir}/coco_valid_jpgs.json`,
  ];
}

Deno.test("checkData: every kind of damage is reported, per image and in the counts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = await damagedDataset(dir);
    const get = (k: string) => args[args.indexOf(k) + 1]!;
    const progress: number[] = [];
    const r = await checkData({
      dataset: "coco",
      srcFile: get("--src-file"),
      imageRoot: get("--image-root"),
      fileValidJpgs: get("--file-valid-jpgs"),
      splits: ["train"],
      onProgress: (done) => progress.push(done),
    });
    deepEqual([r.images, r.checked, r.notInValidJpgs, r.badImages], [7, 6, 1, 5]);
    deepEqual(r.counts, { missing: 1, shape: 1, dtype: 1, nonfinite: 2, unreadable: 0 });
    deepEqual(progress, [1, 2, 3, 4, 5, 6]);
    const byId = new Map(r.problems.map((p) => [p.imgId, p]));
    ok(byId.get("COCO_x_000000000102")!.message.includes("NaN at [5, 7]"));
    equal(byId.get("COCO_x_000000000103")!.part, "cls");
    ok(byId.get("COCO_x_000000000105")!.message.includes("missing from"));
    // the test split holds the image whose cls shard is gone
    const t = await checkData({
      dataset: "coco",
      srcFile: get("--src-file"),
      imageRoot: get("--image-root"),
      fileValidJpgs: get("--file-valid-jpgs"),
      splits: ["test"],
    });
    deepEqual([t.checked, t.counts.missing], [1, 1]);
    ok(t.problems[0]!.message.includes('cls107.h5" does not exist'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("check-data CLI: exit codes and the final JSON line", async () => {
  const dir = await Deno.makeTempDir();
  const cli = new URL("./cli/check_data.ts", import.meta.url).pathname;
  const run = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", cli, ...args] }).output();
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    return {
      code: out.code,
      json: JSON.parse(lines[lines.length - 1]!),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  try {
    const args = await damagedDataset(dir);
    const bad = await run([...args, "--split", "train", "test"]);
    equal(bad.code, 1, bad.stderr);
    deepEqual([bad.json.checked, bad.json.bad_images, bad.json.missing, bad.json.nonfinite], [7, 6, 2, 2]);
    ok(bad.stderr.includes("nonfinite\t"), bad.stderr);
    const F = fixturePath("fixtures/vlp-formats/COCO");
    const good = await run([
      "--dataset",
      "coco",
      "--src-file",
      `${F}/dataset_coco.json`,
      "--image-root",
      `${F}/region_feat_gvd_wo_bgd`,
      "--file-valid-jpgs",
      `${F}/coco_valid_jpgs.json`,
      "--split",
      "train,restval,val,test",
    ]);
    equal(good.code, 0, good.stderr);
    deepEqual([good.json.images, good.json.checked, good.json.bad_images], [10, 9, 0]);
    const missing = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", cli, ...args.slice(0, -1), `${dir}/nope.json`],
      stdout: "null",
    }).output();
    equal(missing.code, 1);
    const why = new TextDecoder().decode(missing.stderr);
    ok(why.includes("nope.json") && why.trim().split("\n").length === 1, why);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("firstNonFinite finds NaN/Inf in float16 bits and float32 values", () => {
  equal(firstNonFinite({ dtype: "float16", shape: [3], data: Float16Array.from([1, -Infinity, 0]) }), 1);
  equal(firstNonFinite({ dtype: "float16", shape: [2], data: Float16Array.from([65504, -65504]) }), -1);
  equal(firstNonFinite({ dtype: "float32", shape: [2], data: Float32Array.from([0, NaN]) }), 1);
});
