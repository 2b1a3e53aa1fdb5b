import { deepEqual, equal, throws } from "node:assert/strict";
import { assertClose, fixturePath } from "@vlp/testing";
import {
  type NdArray,
  readNpy,
  readNpyFile,
  readNpyHeader,
  readNpyObjects,
  readNpyObjectsFile,
  readNpz,
  toFloat32,
  writeNpy,
  writeNpz,
} from "./mod.ts";
import { parsePyLiteral } from "./npy.ts";

const testdata = (f: string) => new URL(`./testdata/${f}`, import.meta.url).pathname;

Deno.test("readNpy: vlp-tiny inputs have the manifest's dtypes and shapes", async () => {
  const manifest = JSON.parse(await Deno.readTextFile(fixturePath("fixtures/vlp-tiny/manifest.json")));
  for (
    const name of ["region_feats", "region_cls_prob", "region_bbox", "vis_pe", "input_ids", "masked_pos"]
  ) {
    const a = await readNpyFile(fixturePath(`fixtures/vlp-tiny/${name}.npy`));
    equal(a.dtype, manifest.arrays[name].dtype, name);
    deepEqual(a.shape, manifest.arrays[name].shape, name);
    equal(a.data.length, a.shape.reduce((x, y) => x * y, 1));
  }
  const f = await readNpyFile(fixturePath("fixtures/vlp-tiny/region_feats.npy"));
  equal(f.data instanceof Float16Array, true);
  const ids = await readNpyFile(fixturePath("fixtures/vlp-tiny/input_ids.npy"));
  equal(ids.data instanceof BigInt64Array, true);
  equal((ids.data as BigInt64Array)[0], 101n); // [CLS]
});

Deno.test("readNpy: big-endian, Fortran order, 0-d arrays (files written by numpy)", async () => {
  const expect = Array.from({ length: 24 }, (_, i) => i / 7);
  const be = await readNpyFile(testdata("big_endian_f4.npy"));
  deepEqual([be.dtype, be.shape], ["float32", [2, 3, 4]]);
  assertClose(be.data as Float32Array, Float32Array.from(expect), { atol: 0, rtol: 0, name: ">f4" });
  const bi = await readNpyFile(testdata("big_endian_i8.npy"));
  deepEqual([...(bi.data as BigInt64Array)], [1n, -2n, 3n, 2n ** 40n]);
  const fo = await readNpyFile(testdata("fortran_f8.npy"));
  deepEqual([fo.dtype, fo.shape], ["float64", [2, 3, 4]]);
  assertClose(fo.data as Float64Array, Float64Array.from(Float32Array.from(expect)), { atol: 0, rtol: 0 });
  const z = await readNpyFile(testdata("zero_d.npy"));
  deepEqual([z.dtype, z.shape, [...z.data]], ["float16", [], [1.5]]);
});

Deno.test("readNpyObjects: fixed-width unicode strings", async () => {
  const s = await readNpyObjectsFile(testdata("unicode_strings.npy"));
  deepEqual(s, { shape: [2, 2], items: ["ab", "ü€", "x", ""] });
});

Deno.test("readNpyObjects: Pythia imdb object array through the safe pickle reader", async () => {
  const o = await readNpyObjectsFile(fixturePath("fixtures/vlp-formats/vqa/imdb_val2014.npy"));
  deepEqual(o.shape, [13]);
  const head = o.items[0] as Record<string, unknown>;
  equal(head.has_answer, true);
  const q = o.items[1] as Record<string, unknown>;
  equal(q.image_name, "COCO_val2014_000000391895");
  equal((q.answers as string[]).length, 10);
});

Deno.test("readNpy refuses object arrays and readNpyObjects numeric ones, naming the file", () => {
  const bytes = writeNpy({ dtype: "float32", shape: [2], data: new Float32Array(2) });
  throws(() => readNpyObjects(bytes, "x.npy"), /x\.npy.*numeric/);
});

Deno.test("writeNpy → readNpy round-trips every dtype bit-exactly", () => {
  const arrays: NdArray[] = [
    { dtype: "float16", shape: [2, 3], data: Float16Array.from([0, -1.5, 65504, 1e-7, -0, 3.25]) },
    { dtype: "float32", shape: [3], data: Float32Array.from([Math.PI, -1e30, NaN]) },
    { dtype: "float64", shape: [1, 1, 2], data: Float64Array.from([Math.E, -Infinity]) },
    { dtype: "int8", shape: [2], data: Int8Array.from([-128, 127]) },
    { dtype: "int16", shape: [2], data: Int16Array.from([-32768, 5]) },
    { dtype: "int32", shape: [2], data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1]) },
    { dtype: "int64", shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 62n]) },
    { dtype: "uint8", shape: [0, 4], data: new Uint8Array(0) },
    { dtype: "bool", shape: [3], data: Uint8Array.from([1, 0, 1]) },
    { dtype: "float32", shape: [], data: Float32Array.from([7]) },
  ];
  for (const a of arrays) {
    const bytes = writeNpy(a);
    equal(readNpyHeader(bytes).dataOffset % 64, 0, "data aligned to 64 bytes");
    const b = readNpy(bytes);
    deepEqual(b.dtype, a.dtype);
    deepEqual(b.shape, a.shape);
    deepEqual(
      new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength),
      new Uint8Array(a.data.buffer),
    );
  }
  throws(() => writeNpy({ dtype: "bfloat16", shape: [1], data: new Uint16Array(1) }), /bfloat16/);
  throws(() => writeNpy({ dtype: "float32", shape: [3], data: new Float32Array(2) }), /2 elements/);
});

Deno.test("npz: reads vlp-tiny grads, writes stored and deflated archives that read back identically", async () => {
  const grads = await readNpz(fixturePath("fixtures/vlp-tiny/grads_s2s.npz"));
  deepEqual(grads.get("vis_embed.0.weight")!.shape, [16, 2048]);
  const dir = await Deno.makeTempDir();
  try {
    const arrays = new Map<string, NdArray>([
      ["x", {
        dtype: "float32",
        shape: [100, 10],
        data: Float32Array.from({ length: 1000 }, (_, i) => i % 7),
      }],
      ["nested/key", { dtype: "int64", shape: [2], data: BigInt64Array.from([1n, -1n]) }],
    ]);
    for (const compress of [false, true]) {
      const p = `${dir}/a_${compress}.npz`;
      await writeNpz(p, arrays, { compress });
      const back = await readNpz(p);
      deepEqual([...back.keys()], [...arrays.keys()]);
      for (const [k, a] of arrays) deepEqual(back.get(k), { ...a, data: back.get(k)!.data }, k);
      deepEqual([...back.get("x")!.data], [...arrays.get("x")!.data]);
      deepEqual([...back.get("nested/key")!.data], [1n, -1n]);
    }
    const st = await Deno.stat(`${dir}/a_true.npz`), su = await Deno.stat(`${dir}/a_false.npz`);
    equal(st.size < su.size / 4, true, "deflate shrinks the repetitive array");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("npz: a deflated archive written by numpy (savez_compressed)", async () => {
  const e = await readNpz(testdata("torch_views_expected.npz"));
  deepEqual(e.get("a_t")!.shape, [5, 6]);
});

Deno.test("toFloat32 converts every numeric dtype and refuses bool", () => {
  deepEqual([...toFloat32({ dtype: "int64", shape: [2], data: BigInt64Array.from([3n, -4n]) })], [3, -4]);
  deepEqual([...toFloat32({ dtype: "float16", shape: [1], data: Float16Array.from([0.5]) })], [0.5]);
  // bfloat16 bits of 1.0 and -2.5
  deepEqual([...toFloat32({ dtype: "bfloat16", shape: [2], data: Uint16Array.from([0x3f80, 0xc020]) })], [
    1,
    -2.5,
  ]);
  const f = new Float32Array(2);
  equal(toFloat32({ dtype: "float32", shape: [2], data: f }), f, "float32 is not copied");
  throws(() => toFloat32({ dtype: "bool", shape: [1], data: new Uint8Array(1) }), /bool/);
});

Deno.test("parsePyLiteral handles numpy header forms", () => {
  deepEqual(
    parsePyLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 4), }"),
    new Map<string, unknown>([["descr", "<f4"], ["fortran_order", false], ["shape", [3, 4]]]),
  );
  throws(() => parsePyLiteral("{'a': __import__('os')}"), SyntaxError);
});
