/**
 * Image decoding against PIL (an independent decoder; testdata/make_test_images.py): PNG exactly, JPEG
 * within the differences of two correct IDCTs (and of chroma upsampling for 4:2:0 files); EXIF orientation, grayscale, CMYK, alpha; corrupt and
 * unsupported files are errors naming the file.
 */
import assert from "node:assert/strict";
import { readNpz } from "@vlp/io";
import { decodeImage, ImageDecodeError, orient, readImage } from "./image.ts";

const DIR = new URL("./testdata/", import.meta.url).pathname;
const expected = await readNpz(`${DIR}images_expected.npz`);

function meanAbsDiff(a: Uint8Array, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

for (
  const [name, tol] of [
    ["alpha.png", 0],
    ["gray.jpg", 1.5],
    ["cmyk.jpg", 3],
    ["sideways.jpg", 3],
    // 4:2:0 chroma: libjpeg (PIL, OpenCV) upsamples the chroma planes by interpolation, jpeg-js by replication;
    // on this synthetic image of sharp colour edges that is a mean difference of about 6 levels
    ["COCO_val2014_000000000042.jpg", 8],
  ] as const
) {
  Deno.test(`decodeImage: ${name} as PIL decodes it (mean |diff| ≤ ${tol})`, async () => {
    const img = await readImage(`${DIR}images/${name}`);
    const e = expected.get(name)!;
    assert.deepEqual([img.height, img.width, 3], e.shape, "size after EXIF orientation");
    const d = meanAbsDiff(img.data, e.data as Uint8Array);
    assert.ok(d <= tol, `mean |diff| ${d}`);
    if (name === "gray.jpg") {
      for (let i = 0; i < img.data.length; i += 3) {
        assert.ok(img.data[i] === img.data[i + 1] && img.data[i] === img.data[i + 2], "gray replicated");
      }
    }
  });
}

Deno.test("decodeImage: a corrupt JPEG, a text file and a missing file are ImageDecodeErrors naming the file", async () => {
  await assert.rejects(readImage(`${DIR}images/corrupt.jpg`), (e: Error) => {
    assert.ok(e instanceof ImageDecodeError);
    assert.match(e.message, /corrupt\.jpg/);
    return true;
  });
  await assert.rejects(
    decodeImage(new TextEncoder().encode("hello"), "notes.txt"),
    /"notes\.txt": not a JPEG or PNG/,
  );
  await assert.rejects(readImage(`${DIR}images/none.jpg`), /none\.jpg/);
  const png = await Deno.readFile(`${DIR}images/alpha.png`);
  await assert.rejects(decodeImage(png.subarray(0, 60), "cut.png"), /"cut\.png": not a readable PNG/);
});

Deno.test("orient: the eight EXIF orientations map a 2x3 image as the EXIF specification draws them", () => {
  // pixel value = index (one channel replicated), rows [0 1 2], [3 4 5]
  const data = new Uint8Array(18);
  for (let i = 0; i < 6; i++) data.fill(i, i * 3, i * 3 + 3);
  const img = { width: 3, height: 2, data };
  const rows = (o: number) => {
    const r = orient(img, o), out: number[][] = [];
    for (let y = 0; y < r.height; y++) {
      out.push([...Array(r.width)].map((_, x) => r.data[(y * r.width + x) * 3]!));
    }
    return out;
  };
  assert.deepEqual(rows(1), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(rows(2), [[2, 1, 0], [5, 4, 3]]);
  assert.deepEqual(rows(3), [[5, 4, 3], [2, 1, 0]]);
  assert.deepEqual(rows(4), [[3, 4, 5], [0, 1, 2]]);
  assert.deepEqual(rows(5), [[0, 3], [1, 4], [2, 5]]);
  assert.deepEqual(rows(6), [[3, 0], [4, 1], [5, 2]]);
  assert.deepEqual(rows(7), [[5, 2], [4, 1], [3, 0]]);
  assert.deepEqual(rows(8), [[2, 5], [1, 4], [0, 3]]);
});
