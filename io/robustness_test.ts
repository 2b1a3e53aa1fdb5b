/**
 * Hostile and damaged inputs for every reader: truncated and bit-flipped files, pickles that try to run
 * code, headers claiming absurd sizes, zip bombs. Each must fail fast with a clear error (or, for damage
 * that the format cannot detect, return a well-formed result), never hang or allocate absurd memory.
 */
import { equal, ok, rejects, throws } from "node:assert/strict";
import { fixturePath, Rng } from "@vlp/testing";
import { loadTorchStateDict, readNpy, readNpyObjects, readNpz, unpickle, writeNpy } from "./mod.ts";
import { readNpzBytes } from "./npz.ts";
import { H5File } from "./h5_reader.ts";
import { writeH5 } from "./h5_writer.ts";
import { parseZip, readZipEntry, ZipWriter } from "./zip.ts";

const testdata = (f: string) => new URL(`./testdata/${f}`, import.meta.url).pathname;
const enc = new TextEncoder();
const CLEAN = [SyntaxError, TypeError, RangeError];

/** Run `fn`; it may succeed, or fail with one of our error classes whose message names `name`. */
async function failsCleanly(fn: () => unknown, name: string, what: string): Promise<boolean> {
  try {
    await fn();
    return false;
  } catch (e) {
    ok(CLEAN.some((c) => e instanceof c), `${what}: unexpected ${(e as Error)?.constructor?.name}: ${e}`);
    ok(
      (e as Error).message.includes(name),
      `${what}: message does not name the file: ${(e as Error).message}`,
    );
    return true;
  }
}

function npyBytes(header: string, data: Uint8Array): Uint8Array {
  const h = header.padEnd(118, " ") + "\n";
  const out = new Uint8Array(10 + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  out.set(enc.encode(h), 10);
  out.set(data, 10 + h.length);
  return out;
}

/** Bytes from numbers (single bytes) and strings (ASCII), to spell pickles opcode by opcode. */
function pk(...parts: (number | number[] | string)[]): Uint8Array {
  return new Uint8Array(parts.flatMap((x) => typeof x === "string" ? [...enc.encode(x)] : x));
}
/** Little-endian uint32. */
const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
/** BINUNICODE string. */
const ustr = (t: string) => [0x58, ...u32(t.length), ...enc.encode(t)];

/** A pickle that calls os.system("echo pwned"): PROTO 2, GLOBAL, BINUNICODE, TUPLE1, REDUCE, STOP. */
const OS_SYSTEM = pk(0x80, 2, "cos\nsystem\n", ustr("echo pwned"), 0x85, 0x52, 0x2e);
/** The three header pickles of a legacy checkpoint: magic number, protocol 1001, sys info {}. */
const LEGACY_HEAD = pk(
  [0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e],
  [0x80, 2, 0x4d, 0xe9, 0x03, 0x2e],
  [0x80, 2, 0x7d, 0x2e],
);

async function withTemp<T>(bytes: Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  const p = `${dir}/bad.bin`;
  await Deno.writeFile(p, bytes);
  try {
    return await fn(p);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function zipOf(entries: [string, Uint8Array, boolean?][]): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir();
  try {
    const f = await Deno.open(`${dir}/z.zip`, { write: true, create: true });
    const z = new ZipWriter(f);
    for (const [name, data, compress] of entries) await z.add(name, data, { compress });
    await z.finish();
    f.close();
    return await Deno.readFile(`${dir}/z.zip`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("pickle: globals outside the allowlist are refused by name, never called", async () => {
  throws(() => unpickle(OS_SYSTEM, { name: "evil.pkl" }), /global "os\.system" is not allowed/);
  // STACK_GLOBAL form, protocol 4
  const sg = pk(0x80, 4, 0x8c, 8, "builtins", 0x8c, 4, "eval", 0x93, 0x2e);
  throws(() => unpickle(sg, { name: "evil.pkl" }), /"builtins\.eval" is not allowed/);
  // inside an object .npy (np.load(allow_pickle=True) would run it)
  const npy = npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", OS_SYSTEM);
  throws(() => readNpyObjects(npy, "evil.npy"), /evil\.npy.*os\.system/);
  // inside a zip checkpoint's data.pkl
  const zip = await zipOf([["archive/data.pkl", OS_SYSTEM], ["archive/version", enc.encode("3\n")]]);
  await withTemp(zip, (p) => rejects(loadTorchStateDict(p), /os\.system/));
  // inside a legacy checkpoint's object pickle
  const legacy = pk([...LEGACY_HEAD], [...OS_SYSTEM]);
  await withTemp(legacy, (p) => rejects(loadTorchStateDict(p), /os\.system/));
});

Deno.test("npy: a header claiming 10^12 elements fails before allocating", () => {
  const bytes = npyBytes(
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }",
    new Uint8Array(8),
  );
  throws(
    () => readNpy(bytes, "huge.npy"),
    (e: Error) => e instanceof RangeError && /huge\.npy/.test(e.message),
  );
  // 2^31 float32 = 8 GiB claimed, 8 bytes present: refused by the size check, no allocation
  const big = npyBytes(
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648,), }",
    new Uint8Array(8),
  );
  throws(() => readNpy(big, "big.npy"), /needs 8589934592 bytes of data, found 8/);
});

/** A hand-made legacy checkpoint with one float32 tensor "w" whose storage claims `numel` elements. */
function legacyClaiming(numel: bigint, present: number): Uint8Array {
  const long1 = (v: bigint) => {
    const b: number[] = [];
    for (let x = v; x > 0n; x >>= 8n) b.push(Number(x & 0xffn));
    if (b[b.length - 1]! & 0x80) b.push(0);
    return [0x8a, b.length, ...b];
  };
  const glob = (m: string, n: string) => [0x63, ...enc.encode(`${m}\n${n}\n`)];
  const obj = pk(
    [0x80, 2, ...glob("collections", "OrderedDict"), 0x29, 0x52], // OrderedDict()
    [...ustr("w"), ...glob("torch._utils", "_rebuild_tensor_v2"), 0x28], // key, callable, MARK
    [
      0x28,
      ...ustr("storage"),
      ...glob("torch", "FloatStorage"),
      ...ustr("0"),
      ...ustr("cpu"),
      ...long1(numel),
    ],
    [0x4e, 0x74, 0x51], // None, TUPLE, BINPERSID
    [0x4b, 0, 0x28, ...long1(numel), 0x74, 0x28, 0x4b, 1, 0x74, 0x89, 0x7d], // offset, size, stride, False, {}
    [0x74, 0x52, 0x73, 0x2e], // TUPLE REDUCE SETITEM STOP
  );
  const keys = pk(0x80, 2, 0x5d, ustr("0"), 0x61, 0x2e);
  const count = new Uint8Array(8);
  new DataView(count.buffer).setBigInt64(0, numel, true);
  return pk([...LEGACY_HEAD], [...obj], [...keys], [...count], new Array(present).fill(0));
}

Deno.test("torch: storages claiming 10^12 elements or more data than the file holds fail cleanly", async () => {
  // sanity: the hand-made file is valid when the data is present
  const good = await withTemp(legacyClaiming(3n, 12), (p) => loadTorchStateDict(p));
  equal(good.get("w")!.data.length, 3);
  await withTemp(legacyClaiming(10n ** 12n, 16), (p) => rejects(loadTorchStateDict(p), RangeError));
  await withTemp(
    legacyClaiming(2n ** 31n, 16),
    (p) => rejects(loadTorchStateDict(p), /needs 8589934592 bytes .* \(truncated\?\)/),
  );
});

Deno.test("zip bombs: declared ratio beyond deflate's maximum, and output beyond the declared size", async () => {
  const zeros = new Uint8Array(8 << 20);
  const bytes = await zipOf([["x.npy", zeros, true]]);
  const dv = new DataView(bytes.buffer);
  // central directory entry: find it and lie about the uncompressed size
  const cd = bytes.length - 22 - (46 + 5);
  equal(dv.getUint32(cd, true), 0x02014b50);
  const small = bytes.slice();
  new DataView(small.buffer).setUint32(cd + 24, 1000, true);
  await rejects(readNpzBytes(small, "bomb.npz"), /inflates beyond its declared 1000 bytes/);
  const huge = bytes.slice();
  new DataView(huge.buffer).setUint32(cd + 24, 0xfffffff0, true);
  await rejects(readNpzBytes(huge, "bomb.npz"), /zip bomb/);
});

Deno.test("truncated files: every reader fails with a clear error naming the file", async () => {
  const files: [string, (p: string) => Promise<unknown>][] = [
    [fixturePath("fixtures/vlp-tiny/input_ids.npy"), async (p) => readNpy(await Deno.readFile(p), p)],
    [
      fixturePath("fixtures/vlp-formats/vqa/imdb_val2014.npy"),
      async (p) => readNpyObjects(await Deno.readFile(p), p),
    ],
    [testdata("torch_views_expected.npz"), (p) => readNpz(p)],
    [testdata("torch_zip_views.pt"), (p) => loadTorchStateDict(p)],
    [testdata("torch_legacy_views.bin"), (p) => loadTorchStateDict(p)],
  ];
  for (const [src, read] of files) {
    const bytes = await Deno.readFile(src);
    for (const frac of [0, 0.01, 0.3, 0.7, 0.999]) {
      const cut = Math.floor(bytes.length * frac);
      await withTemp(bytes.subarray(0, cut), async (p) => {
        ok(await failsCleanly(() => read(p), p, `${src} cut at ${cut}`), `${src} cut at ${cut} was accepted`);
      });
    }
  }
});

Deno.test("bit flips: damage is detected or harmless, never a hang or a foreign error", async () => {
  const rng = new Rng(7);
  const viaFile = (b: Uint8Array, n: string) => withTemp(b, (p) => loadTorchStateDict(p).catch(rename(p, n)));
  const cases: [string, (b: Uint8Array, name: string) => Promise<unknown>][] = [
    [testdata("torch_views_expected.npz"), (b, n) => readNpzBytes(b, n)],
    [testdata("torch_zip_views.pt"), viaFile],
    [testdata("torch_legacy_views.bin"), viaFile],
    [
      fixturePath("fixtures/vlp-formats/vqa/imdb_val2014.npy"),
      (b, n) => Promise.resolve(readNpyObjects(b, n)),
    ],
  ];
  for (const [src, read] of cases) {
    const bytes = await Deno.readFile(src);
    let detected = 0;
    for (let t = 0; t < 60; t++) {
      const pos = rng.int(bytes.length), bit = rng.int(8);
      const b = bytes.slice();
      b[pos]! ^= 1 << bit;
      if (await failsCleanly(() => read(b, "flipped.bin"), "flipped.bin", `${src} flip ${pos}:${bit}`)) {
        detected++;
      }
    }
    ok(detected > 0, `${src}: no flip detected`);
  }
});

Deno.test("bit flips inside zip entry data are always caught by the CRC-32", async () => {
  const rng = new Rng(8);
  for (const src of [testdata("torch_views_expected.npz"), testdata("torch_zip_views.pt")]) {
    const bytes = await Deno.readFile(src);
    for (const e of parseZip(bytes, src)) {
      if (e.compressedSize === 0) continue;
      const b = bytes.slice();
      b[e.dataOffset + rng.int(e.compressedSize)]! ^= 1 << rng.int(8);
      await rejects(readZipEntry(b, e, "f.zip"), /f\.zip.*(CRC-32|deflate|inflate)/, `${src}:${e.name}`);
    }
  }
});

/** Re-throw an error with the temporary path replaced by a stable name. */
function rename(path: string, name: string) {
  return (e: Error): never => {
    e.message = e.message.replaceAll(path, name);
    throw e;
  };
}

Deno.test("npy: invalid bool bytes, bad magic and unsupported dtypes are named errors", () => {
  const bad = writeNpy({ dtype: "bool", shape: [2], data: Uint8Array.from([1, 0]) });
  bad[bad.length - 1] = 7;
  throws(() => readNpy(bad, "b.npy"), /b\.npy.*bool element 1/);
  throws(() => readNpy(enc.encode("PK\x03\x04 not npy"), "z.npy"), /z\.npy.*not a \.npy file/);
  const u4 = npyBytes("{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4));
  throws(() => readNpy(u4, "u.npy"), /u\.npy.*"<u4" is not supported/);
});

Deno.test("HDF5: truncated, bit-flipped and huge-shape files fail cleanly", async () => {
  const src = fixturePath(
    "fixtures/vlp-formats/CC/region_feat_gvd_wo_bgd/feat_cls_1000_float16/cc_detection_vg_100dets_gvd_checkpoint_trainval_feat000.h5",
  );
  const bytes = await Deno.readFile(src);
  const readAll = async (p: string) => {
    const f = await H5File.open(p);
    try {
      for (const k of f.keys()) f.read(k);
    } finally {
      f.close();
    }
  };
  for (const cut of [0, 100, 1500, 300000]) {
    await withTemp(
      bytes.subarray(0, cut),
      async (p) => ok(await failsCleanly(() => readAll(p), p, `cut ${cut}`)),
    );
  }
  // flips in the metadata (the first 2 KiB); data flips are undetectable in HDF5 without checksums
  const rng = new Rng(9);
  let detected = 0;
  for (let t = 0; t < 40; t++) {
    const b = bytes.slice();
    b[rng.int(0x580)]! ^= 1 << rng.int(8);
    await withTemp(b, async (p) => {
      if (await failsCleanly(() => readAll(p), p, "flip")) detected++;
    });
  }
  ok(detected > 0);
  // a dataset whose dataspace claims 10^6 x 10^6 elements
  const dir = await Deno.makeTempDir();
  try {
    await writeH5(`${dir}/x.h5`, [["img", {
      dtype: "float16",
      shape: [100, 2048],
      data: new Float16Array(204800),
    }]]);
    const h = await Deno.readFile(`${dir}/x.h5`);
    const dv = new DataView(h.buffer);
    let patched = 0;
    for (let i = 0; i + 16 <= h.length; i += 8) {
      if (dv.getBigUint64(i, true) === 100n && dv.getBigUint64(i + 8, true) === 2048n) {
        dv.setBigUint64(i, 1000000n, true);
        dv.setBigUint64(i + 8, 1000000n, true);
        patched++;
      }
    }
    equal(patched, 2, "dims and max dims");
    await Deno.writeFile(`${dir}/x.h5`, h);
    ok(await failsCleanly(() => readAll(`${dir}/x.h5`), `${dir}/x.h5`, "huge dataspace"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
