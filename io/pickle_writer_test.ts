import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { fixturePath, Rng } from "@vlp/testing";
import { readNpyHeader, readNpyObjects, readNpyObjectsFile, writeNpyObjects } from "./npy.ts";
import { numpyGlobals, toPlain } from "./numpy_pickle.ts";
import { isTuple, unpickle } from "./pickle.ts";
import { Pickler, pickleValue, PyFloat } from "./pickle_writer.ts";

const roundTrip = (v: unknown, protocol = 3) => unpickle(pickleValue(v, protocol), { name: "t.pkl" }).value;

Deno.test("pickleValue: scalars come back as the reader maps them", () => {
  const cases: [unknown, unknown][] = [
    [null, null],
    [undefined, null],
    [true, true],
    [false, false],
    [0, 0],
    [255, 255],
    [256, 256],
    [65535, 65535],
    [65536, 65536],
    [-1, -1],
    [-(2 ** 31), -(2 ** 31)],
    [2 ** 31, 2 ** 31],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    [-(2n ** 70n), -(2n ** 70n)],
    [2n ** 64n + 5n, 2n ** 64n + 5n],
    [0.5, 0.5],
    [-1e-300, -1e-300],
    [Infinity, Infinity],
    [2 ** 60, 2 ** 60],
    [1e300, 1e300],
    ["", ""],
    ["héllo ✓ 𝄞", "héllo ✓ 𝄞"],
  ];
  for (const [v, want] of cases) deepEqual(roundTrip(v), want, String(v));
  ok(Object.is(roundTrip(-0), -0));
  ok(Number.isNaN(roundTrip(NaN) as number));
  deepEqual(roundTrip(new PyFloat(3)), 3);
  deepEqual(roundTrip(Uint8Array.from([1, 2, 3])), Uint8Array.from([1, 2, 3]));
  deepEqual(roundTrip(new Uint8Array(300).fill(7)), new Uint8Array(300).fill(7));
});

Deno.test("pickleValue: an integral PyFloat is a float opcode, a plain integral number an int opcode", () => {
  const f = pickleValue(new PyFloat(3), 2);
  equal(f[2], 0x47); // BINFLOAT
  const i = pickleValue(3, 2);
  equal(i[2], 0x4b); // BININT1
  equal(pickleValue(2 ** 60, 2)[2], 0x47); // beyond 2^53: a float, as the number is
});

Deno.test("pickleValue: containers (lists, tuples, dicts from Maps and plain objects) nest", () => {
  const v = {
    a: [1, "x", null, [true, [2.25]]],
    t: Object.freeze([1, 2]),
    e: Object.freeze([]),
    l: [],
    d: {},
    m: new Map<unknown, unknown>([[1, "one"], ["two", 2]]),
  };
  const back = roundTrip(v) as Map<string, unknown>;
  ok(back instanceof Map);
  deepEqual(back.get("a"), [1, "x", null, [true, [2.25]]]);
  ok(isTuple(back.get("t")));
  deepEqual([...(back.get("t") as number[])], [1, 2]);
  ok(isTuple(back.get("e")));
  deepEqual(back.get("l"), []);
  deepEqual(back.get("d"), new Map());
  deepEqual(back.get("m"), new Map<unknown, unknown>([[1, "one"], ["two", 2]]));
});

Deno.test("pickleValue: random nested plain data round-trips", () => {
  const rng = new Rng(7);
  const gen = (depth: number): unknown => {
    const k = rng.int(depth > 3 ? 5 : 8);
    if (k === 0) return rng.int(1000) - 500;
    if (k === 1) return rng.normal();
    if (k === 2) return String.fromCharCode(...Array.from({ length: rng.int(6) }, () => 32 + rng.int(900)));
    if (k === 3) return rng.float() < 0.5;
    if (k === 4) return null;
    if (k === 5) return Array.from({ length: rng.int(4) }, () => gen(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < rng.int(4); i++) o[`k${rng.int(100)}`] = gen(depth + 1);
    return o;
  };
  for (let i = 0; i < 200; i++) {
    const v = gen(0);
    deepEqual(toPlain(roundTrip(v), "t"), v);
  }
});

Deno.test("pickleValue: refuses class instances, functions, cycles and bad protocols", () => {
  throws(() => pickleValue(new Date()), /type Date: only plain data/);
  throws(() => pickleValue(() => 1), /type function/);
  const a: unknown[] = [];
  a.push(a);
  throws(() => pickleValue(a), /nested deeper than 200/);
  throws(() => pickleValue(1, 1), /protocol 1/);
  throws(() => new Pickler().int(2 ** 60), /not a safe integer/);
});

Deno.test("writeNpyObjects: np.save's object-array layout, read back by readNpyObjects", () => {
  const items = [{ has_answer: true, version: 1 }, {
    image_name: "x",
    answers: ["a", "b"],
    image_id: 3,
    f: 0.5,
  }];
  const bytes = writeNpyObjects(items);
  const h = readNpyHeader(bytes, "o.npy");
  equal(h.descrText, "|O");
  deepEqual(h.shape, [2]);
  equal(h.dataOffset % 64, 0);
  deepEqual(readNpyObjects(bytes, "o.npy"), { shape: [2], items });
  // the pickle uses only numpy's allowlisted globals
  const globals = new Map(numpyGlobals("o.npy"));
  ok(unpickle(bytes, { name: "o.npy", globals, start: h.dataOffset }).end === bytes.length);
  deepEqual(readNpyObjects(writeNpyObjects([]), "e.npy"), { shape: [0], items: [] });
});

Deno.test("writeNpyObjects: Pythia's imdb fixture re-written reads back identically", async () => {
  const path = fixturePath("fixtures/vlp-formats/vqa/imdb_val2014.npy");
  const orig = await readNpyObjectsFile(path);
  const tmp = await Deno.makeTempFile({ suffix: ".npy" });
  try {
    await Deno.writeFile(tmp, writeNpyObjects(orig.items));
    deepEqual(await readNpyObjectsFile(tmp), orig);
  } finally {
    await Deno.remove(tmp);
  }
});
