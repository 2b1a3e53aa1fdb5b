/**
 * The per-class NMS of `BoxHead.detections` (which stops each class's NMS after the last RoI that can still
 * change) against the plain rule of detectron-vlp's `get_detections_from_im` (full NMS for every class), on
 * seeded random boxes and scores, also with many tied scores.
 */
import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { parseDetectorConfig } from "./config.ts";
import { nms } from "./boxes.ts";
import { BoxHead } from "./head.ts";

function plain(pred: Float64Array, prob: Float32Array, n: number, K: number, thresh: number) {
  const maxConf = new Float64Array(n), maxCls = new Int32Array(n), maxBox = new Float64Array(n * 4);
  for (let c = 1; c < K; c++) {
    for (const i of nms(pred, (i) => prob[i * K + c]!, n, thresh, 4 * K, 4 * c)) {
      if (prob[i * K + c]! > maxConf[i]!) {
        maxConf[i] = prob[i * K + c]!;
        maxCls[i] = c;
        maxBox.set(pred.subarray(i * 4 * K + 4 * c, i * 4 * K + 4 * c + 4), i * 4);
      }
    }
  }
  let keep = [...Array(n).keys()].filter((i) => maxConf[i]! > 0.2);
  if (keep.length !== 100) {
    keep = [...Array(n).keys()].sort((a, b) => maxConf[b]! - maxConf[a]! || b - a).slice(0, 100);
  }
  return {
    keep,
    rows: keep.map((i) => [...maxBox.subarray(i * 4, i * 4 + 4), maxCls[i]!, Math.fround(maxConf[i]!)]),
  };
}

for (const [label, n, K, quantum] of [["random", 160, 40, 0], ["tied scores", 130, 25, 0.05]] as const) {
  Deno.test(`BoxHead.detections = the plain per-class NMS rule (${label})`, () => {
    const rng = new Rng(5), cfg = parseDetectorConfig({ MODEL: { NUM_CLASSES: K } });
    const pred = new Float64Array(n * 4 * K), prob = new Float32Array(n * K);
    for (let i = 0; i < n * K; i++) {
      const x = rng.float() * 200, y = rng.float() * 150, w = 5 + rng.float() * 80, h = 5 + rng.float() * 80;
      pred.set([x, y, x + w, y + h], i * 4);
    }
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += prob[i * K + k] = Math.exp(4 * rng.float());
      for (let k = 0; k < K; k++) {
        const p = prob[i * K + k]! / s;
        prob[i * K + k] = quantum ? Math.round(p / quantum) * quantum : p;
      }
    }
    const got = new BoxHead(cfg, new Map()).detections(pred, prob, n);
    const want = plain(pred, prob, n, K, cfg.TEST.NMS);
    assert.deepEqual(got.keep, want.keep);
    assert.deepEqual([...got.bbox], want.rows.flat().map((v) => Math.fround(v)));
  });
}
