import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { plausibleBoxes, Rng } from "@vlp/testing";
import type { NdArray } from "@vlp/io";
import { arrayProblem, boxProblem, checkImageRegions, firstNonFinite } from "./region_check.ts";
import { type ImageRegions, RegionDataError, RegionReader, writeRegionFiles } from "./regions.ts";

const DIMS = { R: 4, F: 8, K: 5 };

function image(rng: Rng, dtype: "float16" | "float32" = "float16"): ImageRegions {
  const arr = (n: number, cols: number): NdArray => {
    const data = dtype === "float16" ? new Float16Array(n * cols) : new Float32Array(n * cols);
    for (let i = 0; i < data.length; i++) data[i] = rng.float();
    return { dtype, shape: [n, cols], data };
  };
  const bbox = plausibleBoxes(rng, DIMS.R, DIMS.K);
  return { feats: arr(DIMS.R, DIMS.F), cls: arr(DIMS.R, DIMS.K), bbox };
}

Deno.test("firstNonFinite: NaN/Inf in float16 bits and float32 values, float64 beyond float32's range", () => {
  equal(firstNonFinite({ dtype: "float16", shape: [3], data: Float16Array.from([1, -Infinity, 0]) }), 1);
  equal(firstNonFinite({ dtype: "float16", shape: [2], data: Float16Array.from([65504, -65504]) }), -1);
  equal(firstNonFinite({ dtype: "float32", shape: [2], data: Float32Array.from([0, NaN]) }), 1);
  equal(firstNonFinite({ dtype: "float64", shape: [3], data: Float64Array.from([1, 3e38, -1e39]) }), 2);
  equal(firstNonFinite({ dtype: "float64", shape: [1], data: Float64Array.from([NaN]) }), 0);
});

Deno.test("boxProblem: inverted, off the image, a foreign class index or confidence, all at 0", () => {
  const b = (rows: number[][]): NdArray => ({
    dtype: "float32",
    shape: [rows.length, 6],
    data: Float32Array.from(rows.flat()),
  });
  equal(boxProblem(b([[0, 0, 10, 10, 3, 0.9], [5, 5, 5, 5, 0, 0]]), 5), null);
  match(
    boxProblem(b([[0, 0, 10, 10, 3, 0.9], [8, 0, 2, 10, 1, 0.5]]), 5)!,
    /^box 1 \[8, 0, 2, 10\] has x2 < x1/,
  );
  match(boxProblem(b([[0, 0, 1e6, 10, 3, 0.9]]), 5)!, /box 0 .* is outside \[-1, 100000\] pixels/);
  match(boxProblem(b([[-3, 0, 10, 10, 3, 0.9]]), 5)!, /outside/);
  match(boxProblem(b([[0, 0, 10, 10, 5, 0.9]]), 5)!, /box 0 has class index 5, not one of 0..4/);
  match(boxProblem(b([[0, 0, 10, 10, 2.5, 0.9]]), 5)!, /class index 2.5/);
  match(boxProblem(b([[0, 0, 10, 10, 1, 7]]), 5)!, /box 0 has confidence 7, not in \[0, 1\]/);
  match(boxProblem(b([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]), 5)!, /every box is at 0/);
});

Deno.test("arrayProblem / checkImageRegions: dtype, then finiteness, then boxes, each named", () => {
  const rng = new Rng(1);
  const r = image(rng);
  deepEqual(checkImageRegions("img", r, DIMS), []);
  r.feats.data[2 * DIMS.F + 3] = NaN;
  r.cls = { dtype: "int32", shape: [DIMS.R, DIMS.K], data: new Int32Array(DIMS.R * DIMS.K) };
  r.bbox.data[1 * 6 + 5] = 2;
  deepEqual(checkImageRegions("img", r, DIMS).map((p) => [p.part, p.kind, p.message]), [
    ["feats", "nonfinite", 'feats of "img" has NaN at [2, 3] (element 19)'],
    ["cls", "dtype", 'cls of "img" is int32, expected float16, float32 or float64'],
    ["bbox", "box", 'bbox of "img" has an absurd box: box 1 has confidence 2, not in [0, 1]'],
  ]);
  r.bbox.data[0] = Infinity;
  equal(arrayProblem("bbox", r.bbox, DIMS.K)!.kind, "nonfinite");
  equal(checkImageRegions("img", { ...r, feats: image(rng).cls }, DIMS)[0]!.kind, "shape");
});

Deno.test("RegionReader.load stops on damaged arrays with the image, the file and the first bad element", async () => {
  const rng = new Rng(2);
  const dir = await Deno.makeTempDir();
  try {
    const ids = ["COCO_a_101", "COCO_a_102", "COCO_a_103", "COCO_a_104", "COCO_a_105", "COCO_a_106"];
    const images = new Map(ids.map((id, i) => [id, image(rng, i % 2 ? "float32" : "float16")]));
    (images.get(ids[1])!.feats.data as Float32Array).fill(NaN); // an all-NaN image
    images.get(ids[2])!.cls.data[7] = Infinity; // one Inf
    images.get(ids[3])!.feats = { dtype: "int32", shape: [DIMS.R, DIMS.F], data: new Int32Array(32) };
    images.get(ids[4])!.bbox.data[2 * 6 + 1] = NaN; // a NaN box
    images.get(ids[5])!.bbox.data[3 * 6 + 3] = 1e9; // an absurd box
    await writeRegionFiles(images, { dataset: "coco", imageRoot: dir });
    const reader = RegionReader.open({ dataset: "coco", imageRoot: dir, dims: DIMS });
    const fine = await reader.load(ids[0]);
    equal(fine.feats.length, DIMS.R * DIMS.F);
    const cases: [string, string, string, RegExp][] = [
      [ids[1], "feats", "nonfinite", /feats in ".*_feat102\.h5" has NaN at \[0, 0\] \(element 0\)/],
      [ids[2], "cls", "nonfinite", /cls in ".*_cls103\.h5" has Infinity at \[1, 2\] \(element 7\)/],
      [ids[3], "feats", "dtype", /feats in ".*_feat104\.h5" is int32, expected float16, float32 or float64/],
      [ids[4], "bbox", "nonfinite", /bbox in ".*trainvaltest\.h5" has NaN at \[2, 1\] \(element 13\)/],
      [ids[5], "bbox", "box", /bbox in ".*trainvaltest\.h5" has an absurd box: box 3 .* outside/],
    ];
    for (const [id, part, kind, text] of cases) {
      await rejects(reader.load(id), (e: unknown) => {
        ok(e instanceof RegionDataError, String(e));
        deepEqual([e.imgId, e.part, e.kind], [id, part, kind]);
        match(e.message, new RegExp(`^Cannot load regions of coco image "${id}": `));
        match(e.message, text);
        return true;
      });
    }
    reader.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
