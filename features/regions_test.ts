import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { assertClose, fixturePath, Rng } from "@vlp/testing";
import { H5File, type NdArray, readH5, readNpyFile, toFloat32, writeH5 } from "@vlp/io";
import { type ImageRegions, regionPaths, RegionReader, shardOf, writeRegionFiles } from "./regions.ts";
import { regionVector } from "./region_vector.ts";

const FORMATS = fixturePath("fixtures/vlp-formats");
const expected = JSON.parse(await Deno.readTextFile(`${FORMATS}/expected.json`)) as Record<
  string,
  { shard: string }
>;
const IMAGES: [RegionReader, string[], string][] = [
  [
    RegionReader.open({ dataset: "coco", imageRoot: `${FORMATS}/COCO/region_feat_gvd_wo_bgd` }),
    Object.keys(expected),
    "float32",
  ],
  [RegionReader.open({ dataset: "cc", imageRoot: `${FORMATS}/CC/region_feat_gvd_wo_bgd` }), [
    "1000",
    "1037",
    "1074",
    "1111",
  ], "float16"],
  [
    RegionReader.open({ dataset: "flickr30k", imageRoot: `${FORMATS}/flickr30k/region_feat_gvd_wo_bgd` }),
    ["1000092795", "10002456", "1000268201"],
    "float32",
  ],
];
const expectedName = (ds: string, id: string) =>
  ds === "flickr30k" ? `flickr_${id}` : ds === "cc" ? `cc_${id}` : id;

Deno.test("region loader: every fixture image's 1607-d vector matches the original loader within 1e-5", async () => {
  for (const [reader, ids, featDtype] of IMAGES) {
    for (const id of ids) {
      const raw = await reader.read(id);
      equal(raw.feats.dtype, featDtype, `${reader.dataset} ${id} feats dtype`);
      deepEqual([raw.feats.shape, raw.cls.shape, raw.bbox.shape], [[100, 2048], [100, 1601], [100, 6]]);
      const { feats, visPe } = await reader.load(id);
      equal(feats.length, 100 * 2048);
      const exp = await readNpyFile(`${FORMATS}/expected_vis_pe_${expectedName(reader.dataset, id)}.npy`);
      deepEqual(exp.shape, [100, 1607]);
      assertClose(visPe, toFloat32(exp), { atol: 1e-5, rtol: 0, shape: [100, 1607], name: `vis_pe ${id}` });
    }
  }
});

Deno.test("expected.json shards are the last three characters of the image id", () => {
  for (const [id, e] of Object.entries(expected)) equal(shardOf(id), e.shard);
  const p = regionPaths("coco", "root", "COCO_val2014_000000184613");
  equal(p.feats, "root/feat_cls_1000/coco_detection_vg_100dets_gvd_checkpoint_trainval_feat613.h5");
});

Deno.test("region vector of vlp-tiny's inputs matches its vis_pe within 1e-5", async () => {
  const d = fixturePath("fixtures/vlp-tiny");
  const bbox = toFloat32(await readNpyFile(`${d}/region_bbox.npy`)); // [B, R, 6]
  const cls = toFloat32(await readNpyFile(`${d}/region_cls_prob.npy`)); // [B, R, K]
  const exp = toFloat32(await readNpyFile(`${d}/vis_pe.npy`)); // [B, R, G]
  for (let b = 0; b < 5; b++) {
    const v = regionVector(
      bbox.subarray(b * 600, (b + 1) * 600),
      cls.subarray(b * 160100, (b + 1) * 160100),
      100,
    );
    assertClose(v, exp.subarray(b * 160700, (b + 1) * 160700), { atol: 1e-5, rtol: 0, shape: [100, 1607] });
  }
});

Deno.test("region loader: missing image, missing shard and wrong shapes are named errors", async () => {
  const [coco] = IMAGES[0]!;
  await rejects(
    coco.read("COCO_val2014_000000999895"),
    /image "COCO_val2014_000000999895" is missing from .*feat895\.h5/,
  );
  await rejects(coco.read("COCO_val2014_000000999001"), /feat001\.h5" does not exist/);
  const wrong = RegionReader.open({
    dataset: "cc",
    imageRoot: `${FORMATS}/CC/region_feat_gvd_wo_bgd`,
    dims: { R: 100, F: 1024, K: 1601 },
  });
  await rejects(wrong.read("1000"), /has shape \[100, 2048\], expected \[100, 1024\]/);
  wrong.close();
});

function randomRegions(rng: Rng, dtype: "float16" | "float32"): ImageRegions {
  const arr = (shape: number[], dt: "float16" | "float32"): NdArray => {
    const n = shape[0]! * shape[1]!;
    const data = dt === "float16" ? new Float16Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rng.float() * 4;
    return { dtype: dt, shape, data };
  };
  return { feats: arr([100, 2048], dtype), cls: arr([100, 1601], dtype), bbox: arr([100, 6], "float32") };
}

Deno.test("writeRegionFiles → RegionReader round-trips every layout identically (float16 and float32)", async () => {
  const rng = new Rng(3);
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [dataset, dtype] of [["coco", "float32"], ["cc", "float16"], ["flickr30k", "float32"]] as const
    ) {
      const images = new Map<string, ImageRegions>();
      for (
        const id of ["5000", "6000", "7001", "123000", "42"].map((
          x,
        ) => (dataset === "coco" ? `COCO_x_${x}` : x))
      ) {
        images.set(id, randomRegions(rng, dtype));
      }
      const imageRoot = `${dir}/${dataset}`;
      await writeRegionFiles(images, { dataset, imageRoot });
      const reader = RegionReader.open({ dataset, imageRoot });
      for (const [id, r] of images) {
        const back = await reader.read(id);
        for (const k of ["feats", "cls", "bbox"] as const) {
          deepEqual([back[k].dtype, back[k].shape], [r[k].dtype, r[k].shape], `${dataset} ${id} ${k}`);
          ok(back[k].data.every((x, i) => x === r[k].data[i]), `${dataset} ${id} ${k} values`);
        }
      }
      reader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HDF5 writer: h5py-written float16 shards re-written by us read back identically", async () => {
  const src =
    `${FORMATS}/CC/region_feat_gvd_wo_bgd/feat_cls_1000_float16/cc_detection_vg_100dets_gvd_checkpoint_trainval_cls037.h5`;
  const orig = await readH5(src);
  const dir = await Deno.makeTempDir();
  try {
    await writeH5(`${dir}/x.h5`, orig);
    const back = await readH5(`${dir}/x.h5`);
    deepEqual([...back.keys()], [...orig.keys()]);
    for (const [k, a] of orig) {
      equal(back.get(k)!.dtype, "float16");
      deepEqual(new Uint16Array(back.get(k)!.data.buffer), new Uint16Array(a.data.buffer));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HDF5 writer: 3000 datasets (many symbol-table nodes), odd names, every dtype, found by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const items: [string, NdArray][] = [];
    for (let i = 0; i < 3000; i++) {
      items.push([`COCO_train2014_${String((i * 7919) % 1000003).padStart(12, "0")}`, {
        dtype: i % 2 ? "float16" : "float32",
        shape: [2, 3],
        data: i % 2
          ? Float16Array.from({ length: 6 }, (_, j) => i + j / 8)
          : Float32Array.from({ length: 6 }, (_, j) => i + j / 8),
      }]);
    }
    items.push(["a b:ü", { dtype: "int64", shape: [2], data: BigInt64Array.from([1n, -(2n ** 62n)]) }]);
    items.push(["Z", { dtype: "float64", shape: [], data: Float64Array.from([Math.PI]) }]);
    items.push(["u", { dtype: "uint8", shape: [1, 1, 3], data: Uint8Array.from([0, 128, 255]) }]);
    items.push(["i", { dtype: "int32", shape: [2], data: Int32Array.from([-5, 2 ** 31 - 1]) }]);
    items.push(["e", { dtype: "float32", shape: [0, 6], data: new Float32Array(0) }]);
    await writeH5(`${dir}/many.h5`, items);
    const f = await H5File.open(`${dir}/many.h5`);
    equal(f.keys().length, items.length);
    const rng = new Rng(1);
    for (let t = 0; t < 200; t++) {
      const [name, a] = t < 5 ? items[items.length - 1 - t]! : items[rng.int(items.length)]!;
      const b = f.read(name);
      deepEqual([b.dtype, b.shape, [...b.data]], [a.dtype, a.shape, [...a.data]], name);
    }
    f.close();
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["many.h5"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
