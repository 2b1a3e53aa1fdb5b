import { deepEqual, equal, ok } from "node:assert/strict";
import { assertClose, fixturePath } from "@vlp/testing";
import {
  loadTorchStateDict,
  type NdArray,
  readNpyFile,
  readNpz,
  saveTorchStateDict,
  toFloat32,
} from "./mod.ts";

const testdata = (f: string) => new URL(`./testdata/${f}`, import.meta.url).pathname;
const MODEL = fixturePath("fixtures/vlp-tiny/model.bin");

/** y = relu(x · Wᵀ + b) for the first `rows` rows of x [N, IN]; W [OUT, IN]. */
function linearRelu(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  rows: number,
  IN: number,
): Float32Array {
  const OUT = b.length, y = new Float32Array(rows * OUT);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < OUT; o++) {
      let s = b[o]!;
      for (let i = 0; i < IN; i++) s += x[r * IN + i]! * w[o * IN + i]!;
      y[r * OUT + o] = Math.max(0, s);
    }
  }
  return y;
}

Deno.test("legacy model.bin: keys, order and shapes as the manifest, tied embeddings share memory", async () => {
  const manifest = JSON.parse(await Deno.readTextFile(fixturePath("fixtures/vlp-tiny/manifest.json")));
  const sd = await loadTorchStateDict(MODEL);
  deepEqual([...sd.keys()], Object.keys(manifest.state_dict_keys));
  for (const [k, a] of sd) {
    deepEqual(a.shape, manifest.state_dict_keys[k], k);
    equal(a.dtype, "float32", k);
  }
  const word = sd.get("bert.embeddings.word_embeddings.weight")!;
  const dec = sd.get("cls.predictions.decoder.weight")!;
  equal(word.data.buffer, dec.data.buffer);
  equal(word.data.byteOffset, dec.data.byteOffset);
});

Deno.test("legacy model.bin: weights reproduce vis_pe_embed_out and vis_embed_out (first regions)", async () => {
  const sd = await loadTorchStateDict(MODEL);
  const w = (k: string) => toFloat32(sd.get(k)!);
  const C = 32;
  // vis_pe_embed = Linear(1607→C), ReLU on vis_pe [B*R, 1607]
  const visPe = toFloat32(await readNpyFile(fixturePath("fixtures/vlp-tiny/vis_pe.npy")));
  const pe = linearRelu(visPe, w("vis_pe_embed.0.weight"), w("vis_pe_embed.0.bias"), 500, 1607);
  const expPe = toFloat32(await readNpyFile(fixturePath("fixtures/vlp-tiny/vis_pe_embed_out.npy")));
  assertClose(pe, expPe, { atol: 1e-4, rtol: 1e-4, name: "vis_pe_embed_out" });
  // vis_embed = Linear(2048→2048), ReLU, Linear(2048→C), ReLU on the first 3 regions
  const feats = toFloat32(await readNpyFile(fixturePath("fixtures/vlp-tiny/region_feats.npy")));
  const h = linearRelu(feats, w("vis_embed.0.weight"), w("vis_embed.0.bias"), 3, 2048);
  const v = linearRelu(h, w("vis_embed.2.weight"), w("vis_embed.2.bias"), 3, 2048);
  const expV = toFloat32(await readNpyFile(fixturePath("fixtures/vlp-tiny/vis_embed_out.npy")));
  assertClose(v, expV.subarray(0, 3 * C), { atol: 1e-4, rtol: 1e-4, name: "vis_embed_out" });
});

Deno.test("legacy vlp-adapt input: tensors the adaptation keeps equal the numpy export exactly", async () => {
  const sd = await loadTorchStateDict(fixturePath("fixtures/vlp-adapt/input_state_dict.bin"));
  const expected = await readNpz(fixturePath("fixtures/vlp-adapt/expected_adapted.npz"));
  let compared = 0;
  for (const [k, a] of sd) {
    const e = expected.get(k);
    if (!k.includes(".encoder.") || !e) continue; // encoder layers pass through adaptation unchanged
    deepEqual(a.shape, e.shape, k);
    assertClose(toFloat32(a), toFloat32(e), { atol: 0, rtol: 0, name: k });
    compared++;
  }
  ok(compared >= 16, `compared ${compared} tensors`);
});

async function checkViews(path: string) {
  const sd = await loadTorchStateDict(path);
  const expected = await readNpz(testdata("torch_views_expected.npz"));
  deepEqual([...sd.keys()], [...expected.keys()]);
  for (const [k, e] of expected) {
    const a = sd.get(k)!;
    deepEqual(a.shape, e.shape, k);
    if (k === "bf16") {
      equal(a.dtype, "bfloat16");
      assertClose(toFloat32(a), toFloat32(e), { atol: 0, rtol: 0, name: k });
    } else {
      equal(a.dtype, e.dtype, k);
      deepEqual([...a.data], [...e.data], k);
    }
  }
  // views of one storage share memory when contiguous
  equal(sd.get("a")!.data.buffer, sd.get("slice")!.data.buffer);
}

Deno.test("zip checkpoint from torch.save: dtypes, offsets, strided views", () =>
  checkViews(testdata("torch_zip_views.pt")));

Deno.test("legacy checkpoint from torch.save: dtypes, offsets, strided views", () =>
  checkViews(testdata("torch_legacy_views.bin")));

Deno.test("saveTorchStateDict → loadTorchStateDict round-trips identically, ties preserved", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sd = await loadTorchStateDict(MODEL);
    const extra: [string, NdArray][] = [
      ["half", { dtype: "float16", shape: [3], data: Float16Array.from([1, -2, 0.5]) }],
      ["bf", { dtype: "bfloat16", shape: [2], data: Uint16Array.from([0x3f80, 0xc020]) }],
      ["ids", { dtype: "int64", shape: [2, 1], data: BigInt64Array.from([5n, -(2n ** 60n)]) }],
      ["flag", { dtype: "bool", shape: [1], data: Uint8Array.from([1]) }],
      ["scalar", { dtype: "float64", shape: [], data: Float64Array.from([2.5]) }],
    ];
    for (const [k, a] of extra) sd.set(k, a);
    const p = `${dir}/model.pt`;
    await saveTorchStateDict(p, sd);
    const back = await loadTorchStateDict(p);
    deepEqual([...back.keys()], [...sd.keys()]);
    for (const [k, a] of sd) {
      const b = back.get(k)!;
      deepEqual([b.dtype, b.shape], [a.dtype, a.shape], k);
      deepEqual(
        new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength),
        new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength),
        k,
      );
    }
    const w = back.get("bert.embeddings.word_embeddings.weight")!,
      d = back.get("cls.predictions.decoder.weight")!;
    equal(w.data.byteOffset, d.data.byteOffset, "tied weights stored once");
    // the file holds the tied matrix once
    const size = (await Deno.stat(p)).size, orig = (await Deno.stat(MODEL)).size;
    ok(Math.abs(size - orig) < 64 * 1024, `${size} vs ${orig}`);
    // no temporary files left behind
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.pt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
