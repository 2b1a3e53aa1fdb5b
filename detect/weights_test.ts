/**
 * The weights loader on the small detector's `.pkl` (a Python 2 pickle as Detectron writes it) and on damaged
 * or hostile variants: each a clear error naming the file and, where there is one, the blob.
 */
import assert from "node:assert/strict";
import { readNumpyPickle } from "@vlp/io";
import { parseDetectorConfig, readDetectorConfig, RELEASED_CONFIG } from "./config.ts";
import { blobSpecs, loadDetectorWeights, parseDetectorWeights } from "./weights.ts";

const DIR = new URL("./testdata/", import.meta.url).pathname;
const cfg = await readDetectorConfig(`${DIR}small_detector.json`);
const bytes = await Deno.readFile(`${DIR}small_detector.pkl`);

/** The pickle with the first occurrence of `from` (a blob name, as SHORT_BINSTRING) replaced by `to`. */
function renamed(from: string, to: string): Uint8Array {
  const f = new TextEncoder().encode(from), t = new TextEncoder().encode(to);
  assert.equal(f.length, t.length);
  for (let i = 0; i + f.length <= bytes.length; i++) {
    if (bytes[i - 1] === f.length && f.every((c, j) => bytes[i + j] === c)) {
      const out = bytes.slice();
      out.set(t, i);
      return out;
    }
  }
  throw new Error(`${from} not found`);
}

Deno.test("weights: every blob of the small detector, by name and shape, values as pickled", async () => {
  const w = await loadDetectorWeights(`${DIR}small_detector.pkl`, cfg);
  const specs = blobSpecs(cfg);
  assert.equal(w.size, specs.length);
  for (const s of specs) assert.equal(w.get(s.name)!.length, s.shape.reduce((a, b) => a * b, 1), s.name);
  // the first weights, as numpy reads them (python3 -c "pickle.load(..., encoding='bytes')")
  assert.deepEqual([...w.get("conv1_w")!.slice(0, 2)].map((v) => Number(v.toPrecision(6))), [
    -5.11713e-5,
    0.00563485,
  ]);
});

Deno.test("weights: the released config's blob table has the real network's names and shapes", () => {
  const specs = new Map(blobSpecs(RELEASED_CONFIG as never).map((s) => [s.name, s.shape]));
  assert.deepEqual(specs.get("res4_22_branch2b_w"), [1024, 16, 3, 3]);
  assert.deepEqual(specs.get("res5_0_branch1_w"), [2048, 1024, 1, 1]);
  assert.deepEqual(specs.get("fpn_inner_res5_2_sum_w"), [256, 2048, 1, 1]);
  assert.deepEqual(specs.get("fpn_inner_res2_2_sum_lateral_w"), [256, 256, 1, 1]);
  assert.deepEqual(specs.get("fc6_w"), [2048, 256 * 7 * 7]);
  assert.deepEqual(specs.get("cls_score_w"), [1601, 2048]);
  assert.deepEqual(specs.get("bbox_pred_w"), [1601 * 4, 2048]);
  assert.equal(specs.has("res2_0_branch1_w"), true);
  assert.equal(specs.has("res2_1_branch1_w"), false);
});

Deno.test("weights: a missing blob is named with its expected shape", () => {
  assert.throws(() => parseDetectorWeights(renamed("fc7_w", "fc7_x"), cfg, "cut.pkl"), (e: Error) => {
    assert.match(
      e.message,
      /^Cannot load detector weights "cut\.pkl": blob "fc7_w" is missing \(expected shape \[8, 2048\]\)$/,
    );
    return true;
  });
});

Deno.test("weights: a blob of the wrong shape is named with both shapes", () => {
  const other = parseDetectorConfig({
    ...JSON.parse(Deno.readTextFileSync(`${DIR}small_detector.json`)),
    FPN: { DIM: 16 },
  });
  assert.throws(
    () => parseDetectorWeights(bytes, other, "small.pkl"),
    /"small\.pkl": blob "fpn_inner_res5_0_sum_w" has shape \[8, 128, 1, 1\], expected \[16, 128, 1, 1\]/,
  );
});

Deno.test("weights: a pickle that would run code is refused, naming the file and the global", () => {
  // protocol 2: GLOBAL os.system, ("echo pwned",), REDUCE, STOP
  const evil = new Uint8Array([
    0x80,
    0x02,
    ...new TextEncoder().encode("cos\nsystem\n"),
    0x55,
    10,
    ...new TextEncoder().encode("echo pwned"),
    0x85,
    0x52,
    0x2e,
  ]);
  assert.throws(() => parseDetectorWeights(evil, cfg, "evil.pkl"), (e: Error) => {
    assert.match(e.message, /evil\.pkl/);
    assert.match(e.message, /os\.system/);
    return true;
  });
});

Deno.test("weights: a truncated file is an error naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/half.pkl`, bytes.subarray(0, bytes.length >> 1));
    await assert.rejects(loadDetectorWeights(`${dir}/half.pkl`, cfg), /half\.pkl/);
    await assert.rejects(
      loadDetectorWeights(`${dir}/none.pkl`, cfg),
      /Cannot load detector weights ".*none\.pkl"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weights: Python 3 protocol-2 bytes (_codecs.encode, latin1) read as Python 2 str", () => {
  // {"a": np-free bytes b"\x00\xff"} as pickle.dumps(..., protocol=2) writes it in Python 3
  const py3 = Uint8Array.from(
    atob("gAJ9cQBYAQAAAGFxAWNfY29kZWNzCmVuY29kZQpxAlgDAAAAAMO/cQNYBgAAAGxhdGluMXEEhnEFUnEGcy4="),
    (c) => c.charCodeAt(0),
  );
  const v = readNumpyPickle(py3, { name: "py3.pkl" }) as Record<string, Uint8Array>;
  assert.deepEqual([...v.a!], [0, 255]);
});

Deno.test("config: unknown fields and bad values are errors naming the file and the field", () => {
  assert.throws(
    () => parseDetectorConfig({ TEST: { SCALEE: 3 } }, "c.json"),
    /"c\.json": TEST: Unrecognized key/,
  );
  assert.throws(() => parseDetectorConfig({ FPN: { DIM: -1 } }, "c.json"), /"c\.json": FPN\.DIM/);
  assert.equal(parseDetectorConfig({ TEST: { SCALE: 800 } }).TEST.MAX_SIZE, 1000);
});
