/**
 * The box head and the detections VLP keeps (Detectron's `fast_rcnn_heads.add_roi_2mlp_head` and
 * `add_fast_rcnn_outputs`, `core/test.py: im_detect_bbox`, detectron-vlp's `tools/extract_features.py:
 * get_detections_from_im`):
 *
 * 1. RoIAlign of every RoI on its level → `[N, D, res, res]`;
 * 2. fc6 + ReLU → `[N, F]` (the blob `fc6`, in place after its ReLU: VLP's region feature), fc7 + ReLU,
 *    `cls_score` → softmax → `cls_prob` `[N, K]`, `bbox_pred` `[N, 4K]`;
 * 3. class-specific boxes: the RoIs divided by the input scale, the deltas applied with
 *    `BBOX_REG_WEIGHTS`, clipped to the original image;
 * 4. for each class 1..K−1, NMS (`TEST.NMS`) over all RoIs with that class's boxes and scores; each RoI
 *    keeps the class of its highest kept score (`max_conf`, `max_cls`, that class's box). NMS visits the RoIs
 *    by descending score and its decision for one depends only on those before it, so it stops after the last
 *    RoI whose score beats its `max_conf` (the others cannot change): the same result, less work;
 * 5. the RoIs with `max_conf` > 0.2 if there are exactly 100 of them (in RoI order), else the 100 of
 *    highest `max_conf` (`np.argsort(max_conf)[::-1]`; equal scores: the later RoI first).
 *
 * @module
 */
import { bboxTransform, clipBoxes, descendingOrder, nmsOrdered } from "./boxes.ts";
import type { DetectorConfig } from "./config.ts";
import type { MapOps } from "./ops.ts";
import type { DetectorWeights } from "./weights.ts";

/** Confidence threshold and box count of detectron-vlp's extraction (spec 6.3). */
export const CONF_THRESH = 0.2, MIN_BOXES = 100, MAX_BOXES = 100;

/** The head's outputs for N RoIs. */
export interface HeadOutput {
  /** `[N, D·res·res]` */
  roiFeat: Float32Array;
  /** `[N, F]` after ReLU */
  fc6: Float32Array;
  /** `[N, FC7_DIM]` after ReLU */
  fc7: Float32Array;
  /** `[N, K]` */
  clsProb: Float32Array;
  /** `[N, 4K]` */
  bboxPred: Float32Array;
}

/** The kept detections: RoI indices and per kept RoI its best class, its score and that class's box. */
export interface Detections {
  keep: number[];
  /** `[n, 6]`: x1, y1, x2, y2, class, confidence (original image pixels) */
  bbox: Float32Array;
}

function blob(w: DetectorWeights, name: string): Float32Array {
  const b = w.get(name);
  if (!b) throw new TypeError(`Cannot build the detector: blob "${name}" is missing`);
  return b;
}

/** The box head of a config. */
export class BoxHead {
  readonly #w: DetectorWeights;
  constructor(readonly cfg: DetectorConfig, w: DetectorWeights) {
    this.#w = w;
  }

  /** RoIAlign of RoIs `[n, 4]` on their levels → `[n, D, res, res]`. */
  roiFeatures<M>(
    ops: MapOps<M>,
    levels: Record<number, M>,
    rois: Float64Array,
    roiLevels: Int32Array,
  ): Promise<Float32Array> {
    const F = this.cfg.FAST_RCNN;
    return ops.roiAlign(levels, rois, roiLevels, F.ROI_XFORM_RESOLUTION, F.ROI_XFORM_SAMPLING_RATIO);
  }

  /** fc6, fc7, class probabilities and box deltas from RoI features. */
  async run<M>(ops: MapOps<M>, roiFeat: Float32Array, n: number): Promise<HeadOutput> {
    const w = this.#w, K = this.cfg.MODEL.NUM_CLASSES;
    const fc6 = await ops.linear(roiFeat, n, blob(w, "fc6_w"), blob(w, "fc6_b"), true); // [n, F]
    const fc7 = await ops.linear(fc6, n, blob(w, "fc7_w"), blob(w, "fc7_b"), true); // [n, FC7]
    const clsProb = await ops.linear(fc7, n, blob(w, "cls_score_w"), blob(w, "cls_score_b"), false); // [n, K]
    for (let i = 0; i < n; i++) {
      const row = clsProb.subarray(i * K, (i + 1) * K);
      let m = -Infinity, s = 0;
      for (const v of row) m = Math.max(m, v);
      for (let k = 0; k < K; k++) s += row[k] = Math.exp(row[k]! - m);
      for (let k = 0; k < K; k++) row[k] = row[k]! / s;
    }
    const bboxPred = await ops.linear(fc7, n, blob(w, "bbox_pred_w"), blob(w, "bbox_pred_b"), false); // [n, 4K]
    return { roiFeat, fc6, fc7, clsProb, bboxPred };
  }

  /** Class-specific boxes `[n, 4K]` in original-image pixels. */
  predictedBoxes(
    rois: Float64Array,
    n: number,
    bboxPred: Float32Array,
    scale: number,
    h0: number,
    w0: number,
  ): Float64Array {
    const boxes = rois.map((v) => v / scale);
    const K = this.cfg.MODEL.NUM_CLASSES;
    return clipBoxes(
      bboxTransform(boxes, bboxPred, n, K, this.cfg.MODEL.BBOX_REG_WEIGHTS, this.cfg.TEST.BBOX_XFORM_CLIP),
      h0,
      w0,
    );
  }

  /** Steps 4 and 5: the kept RoIs and their rows of the bbox file. */
  detections(pred: Float64Array, clsProb: Float32Array, n: number): Detections {
    const K = this.cfg.MODEL.NUM_CLASSES;
    const maxConf = new Float64Array(n), maxCls = new Int32Array(n), maxBox = new Float64Array(n * 4);
    for (let c = 1; c < K; c++) {
      const order = descendingOrder(n, (i) => clsProb[i * K + c]!);
      // only a RoI whose score beats its max_conf can change; NMS decides up to the last such RoI
      let m = 0;
      for (let a = n - 1; a >= 0 && m === 0; a--) {
        if (clsProb[order[a]! * K + c]! > maxConf[order[a]!]!) m = a + 1;
      }
      if (m === 0) continue;
      const keep = nmsOrdered(pred, order, m, this.cfg.TEST.NMS, 4 * K, 4 * c);
      for (const i of keep) {
        const s = clsProb[i * K + c]!;
        if (s > maxConf[i]!) {
          maxConf[i] = s;
          maxCls[i] = c;
          maxBox.set(pred.subarray(i * 4 * K + 4 * c, i * 4 * K + 4 * c + 4), i * 4);
        }
      }
    }
    let keep: number[] = [];
    for (let i = 0; i < n; i++) if (maxConf[i]! > CONF_THRESH) keep.push(i);
    if (keep.length < MIN_BOXES || keep.length > MAX_BOXES) {
      // np.argsort(max_conf)[::-1]: descending, equal values with the later index first
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => maxConf[b]! - maxConf[a]! || b - a);
      keep = order.slice(0, MAX_BOXES);
    }
    const bbox = new Float32Array(keep.length * 6);
    keep.forEach((i, r) => {
      bbox.set(maxBox.subarray(i * 4, i * 4 + 4), r * 6);
      bbox[r * 6 + 4] = maxCls[i]!;
      bbox[r * 6 + 5] = maxConf[i]!;
    });
    return { keep, bbox };
  }
}
