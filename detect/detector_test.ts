/**
 * Stage-by-stage parity of the detector with an independent implementation (PyTorch + torchvision, float64,
 * `testdata/make_small_detector.py`) on a small random network of the released structure. Each stage
 * starts from the fixture's input of that stage, so that a failure names the stage; the last test runs the
 * whole chain from the PNG file. Tolerances are float32's against a float64 reference, relative to each
 * tensor's largest magnitude; discrete results (proposal order, levels, kept boxes) must be equal.
 */
import assert from "node:assert/strict";
import { type NdArray, readNpz, toFloat32 } from "@vlp/io";
import { assertClose } from "@vlp/testing";
import { type Backend, createBackend } from "@vlp/model";
import { readDetectorConfig } from "./config.ts";
import { loadDetectorWeights } from "./weights.ts";
import { Detector } from "./detector.ts";
import { readImage } from "./image.ts";
import { prepareImage } from "./preprocess.ts";
import type { FeatureMap, MapOps } from "./ops.ts";
import { gpuTestOptions, testGpu } from "./webgpu/test_utils.ts";

const DIR = new URL("./testdata/", import.meta.url).pathname;
const cfg = await readDetectorConfig(`${DIR}small_detector.json`);
const weights = await loadDetectorWeights(`${DIR}small_detector.pkl`, cfg);
const fx = await readNpz(`${DIR}small_stages.npz`);

function arr(name: string): NdArray {
  const a = fx.get(name);
  if (!a) throw new Error(`fixture lacks ${name}`);
  return a;
}
const f32 = (name: string) => toFloat32(arr(name));
function map(name: string): FeatureMap {
  const a = arr(name), s = a.shape.slice(-3);
  return { c: s[0]!, h: s[1]!, w: s[2]!, data: toFloat32(a).slice() };
}
/** |a − e| ≤ tol · max|e| for every element (float32 against float64). */
function close(actual: ArrayLike<number>, name: string, tol = 2e-5): void {
  const e = f32(name);
  let m = 0;
  for (const v of e) m = Math.max(m, Math.abs(v));
  assertClose(Float64Array.from(actual), e, { atol: tol * m, rtol: 0, name, shape: arr(name).shape });
}
function columns(x: ArrayLike<number>, rows: number, stride: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = x[r * stride + c]!;
  return out;
}
function fixtureRois(): { boxes: Float64Array; scores: Float64Array; n: number } {
  const b = Float64Array.from(f32("rois"));
  return { boxes: b, scores: new Float64Array(b.length / 4), n: b.length / 4 };
}

const gpu = testGpu();
const BACKENDS: [string, () => Backend][] = [
  ["reference", () => createBackend("reference")],
  ["blas", () => createBackend("blas")],
  ["webgpu", () => gpu!],
];

for (const [backendName, backend] of BACKENDS) {
  const skip = backendName === "webgpu" ? gpuTestOptions() : {};
  const test = (name: string, fn: () => void | Promise<void>) => Deno.test({ name, fn, ...skip });
  const det = backendName === "webgpu" && !gpu ? null! : new Detector(cfg, weights, backend());
  const ops = det?.ops as MapOps<unknown>;
  const up = (name: string) => ops.upload(map(name));

  test(`detect parity (${backendName}): input blob from the PNG (BGR, means, INTER_LINEAR, padding)`, async () => {
    const p = prepareImage(cfg, await readImage(`${DIR}small_image.png`));
    const info = f32("im_info");
    assert.deepEqual([p.info.height, p.info.width], [info[0], info[1]]);
    assert.ok(Math.abs(p.info.scale - info[2]!) < 1e-6);
    close(p.data.data, "data", 1e-5);
  });

  test(`detect parity (${backendName}): ResNeXt body and FPN levels`, async () => {
    const { body, levels } = det.backbone.run(ops, up("data"));
    for (const s of [2, 3, 4, 5] as const) close((await ops.read(body[s])).data, `body_res${s}`);
    for (let l = 2; l <= 6; l++) close((await ops.read(levels[l]!)).data, `fpn${l}`);
  });

  test(`detect parity (${backendName}): RPN head per level`, async () => {
    for (let l = 2; l <= 6; l++) {
      const out = await det.rpn.head(ops, up(`fpn${l}`));
      close(out.probs.data, `rpn_cls_probs_fpn${l}`);
      close(out.deltas.data, `rpn_bbox_pred_fpn${l}`);
    }
  });

  test(`detect parity (${backendName}): proposals per level, collect, RoI levels`, () => {
    const info = f32("im_info");
    const levels = [];
    for (let l = 2; l <= 6; l++) {
      const p = det.rpn.levelProposals(l, {
        probs: map(`rpn_cls_probs_fpn${l}`),
        deltas: map(`rpn_bbox_pred_fpn${l}`),
      }, {
        height: info[0]!,
        width: info[1]!,
        scale: info[2]!,
      });
      assert.equal(p.n, arr(`rpn_roi_probs_fpn${l}`).shape[0], `level ${l}: proposal count`);
      close(p.boxes, `rpn_rois_fpn${l}`, 1e-5);
      close(p.scores, `rpn_roi_probs_fpn${l}`, 1e-6);
      levels.push(p);
    }
    const rois = det.rpn.collect(levels);
    close(rois.boxes, "rois", 1e-5);
    assert.deepEqual([...det.rpn.roiLevels(rois)], [...toFloat32(arr("roi_levels"))]);
  });

  test(`detect parity (${backendName}): RoIAlign per level`, async () => {
    const levels: Record<number, unknown> = {};
    for (let l = 2; l <= 5; l++) levels[l] = up(`fpn${l}`);
    const lv = Int32Array.from(toFloat32(arr("roi_levels")));
    close(await det.head.roiFeatures(ops, levels, fixtureRois().boxes, lv), "roi_feat");
  });

  test(`detect parity (${backendName}): box head, class boxes, per-class NMS and the 100 boxes`, async () => {
    const rois = fixtureRois(), n = rois.n, K = cfg.MODEL.NUM_CLASSES, F = cfg.FAST_RCNN.MLP_HEAD_DIM;
    const h = await det.head.run(ops, f32("roi_feat"), n);
    close(columns(h.fc6, n, F, 256), "fc6");
    close(h.fc7, "fc7");
    close(columns(h.clsProb, n, K, 128), "cls_prob");
    close(columns(h.bboxPred, n, 4 * K, 128), "bbox_pred");
    const info = f32("im_info"), png = { h: 29, w: 41 };
    const pred = det.head.predictedBoxes(rois.boxes, n, h.bboxPred, info[2]!, png.h, png.w);
    close(columns(pred, n, 4 * K, 128), "pred_boxes", 1e-5);
    const d = det.head.detections(pred, h.clsProb, n);
    assert.deepEqual(d.keep, [...toFloat32(arr("keep"))]);
    close(d.bbox, "bbox", 1e-5);
    close(d.keep.map((i) => h.fc6.subarray(i * F, (i + 1) * F).reduce((a, b) => a + b, 0)), "feat_sum", 1e-5);
    close(
      d.keep.map((i) => h.clsProb.subarray(i * K, (i + 1) * K).reduce((a, b) => a + b, 0)),
      "cls_sum",
      1e-6,
    );
  });

  test(`detect parity (${backendName}): the whole chain from the PNG file`, async () => {
    const img = await readImage(`${DIR}small_image.png`);
    const s = await det.stages(img);
    // RoI indices may differ where two proposals' scores are equal in float32; the boxes, in order, may not
    assert.equal(s.detections.keep.length, arr("keep").shape[0]);
    close(s.detections.bbox, "bbox", 1e-4);
    const r = await det.detect(img);
    assert.equal(r.count, 100);
    assert.equal(r.feat.length, 100 * cfg.FAST_RCNN.MLP_HEAD_DIM);
  });
}
