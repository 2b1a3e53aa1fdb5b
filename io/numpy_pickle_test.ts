import assert from "node:assert/strict";
import { readNumpyPickle, unpickle } from "./mod.ts";

// pickle.dumps({"k": b"\x00\xc3\xa9"}) as Python 2 writes it: SHORT_BINSTRING for both the key and the bytes
const PY2 = Uint8Array.from([
  0x80,
  0x02,
  0x7d,
  0x71,
  0x00,
  0x55,
  0x01,
  0x6b,
  0x55,
  0x03,
  0x00,
  0xc3,
  0xa9,
  0x73,
  0x2e,
]);

Deno.test('unpickle: Python 2 str is text by default and bytes with py2Str: "bytes" (numpy data stays exact)', () => {
  const text = unpickle(PY2).value as Map<string, string>;
  assert.equal(text.get("k"), "\u0000é"); // valid UTF-8 is decoded as text
  const bytes = unpickle(PY2, { py2Str: "bytes" }).value as Map<Uint8Array, Uint8Array>;
  const [[k, v]] = [...bytes];
  assert.deepEqual([...k!], [0x6b]);
  assert.deepEqual([...v!], [0x00, 0xc3, 0xa9]);
});

Deno.test("readNumpyPickle: a global outside numpy's and _codecs.encode(latin1) is refused, naming it", () => {
  const evil = Uint8Array.from([0x80, 0x02, ...new TextEncoder().encode("cbuiltins\neval\n"), 0x2e]);
  assert.throws(() => readNumpyPickle(evil, { name: "x.pkl" }), /x\.pkl.*builtins\.eval/);
});
