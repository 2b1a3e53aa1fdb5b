/**
 * The whole detector, one image at a time, as a flat list of steps (Detectron's `core/test.py:
 * im_detect_bbox` and detectron-vlp's `get_detections_from_im`):
 *
 * | step | what                                   | file            | output                              |
 * | ---- | -------------------------------------- | --------------- | ----------------------------------- |
 * | 1    | BGR, means, resize, pad                | preprocess.ts   | data `[3, H, W]`, im_info           |
 * | 2    | ResNeXt body                           | backbone.ts     | res2..res5                          |
 * | 3    | FPN                                    | backbone.ts     | P2..P6 `[D, H/2^l, W/2^l]`          |
 * | 4    | RPN head per level                     | rpn.ts          | probs `[A, h, w]`, deltas `[4A, h, w]` |
 * | 5    | proposals per level, collect, levels   | rpn.ts          | rois `[N, 4]`, their levels         |
 * | 6    | RoIAlign                               | roi_align.ts    | `[N, D, res, res]`                  |
 * | 7    | fc6, fc7, cls_prob, bbox_pred          | head.ts         | `[N, F]`, `[N, K]`, `[N, 4K]`       |
 * | 8    | class boxes, per-class NMS, 100 boxes  | head.ts         | feat `[R, F]`, cls `[R, K]`, bbox `[R, 6]` |
 *
 * @module
 */
import { type Backend, createBackend } from "@vlp/model";
import { Backbone, type Pyramid } from "./backbone.ts";
import type { DetectorConfig } from "./config.ts";
import { BoxHead, type Detections, type HeadOutput } from "./head.ts";
import type { RgbImage } from "./image.ts";
import { Gemm } from "./ops.ts";
import { type PreparedImage, prepareImage } from "./preprocess.ts";
import { type Proposals, Rpn, type RpnLevelOutput } from "./rpn.ts";
import type { DetectorWeights } from "./weights.ts";

/** Every intermediate result of one image (for parity checks and inspection). */
export interface DetectorStages {
  input: PreparedImage;
  pyramid: Pyramid;
  rpn: Record<number, RpnLevelOutput>;
  levelProposals: Record<number, Proposals>;
  rois: Proposals;
  roiLevels: Int32Array;
  head: HeadOutput;
  /** `[N, 4K]` class-specific boxes in original pixels */
  predBoxes: Float64Array;
  detections: Detections;
}

/** One image's region arrays in VLP's layout. */
export interface ImageDetections {
  /** `[R, F]` fc6 of the kept RoIs */
  feat: Float32Array;
  /** `[R, K]` their class probabilities */
  cls: Float32Array;
  /** `[R, 6]` x1, y1, x2, y2, class, confidence */
  bbox: Float32Array;
  /** R */
  count: number;
}

/** A detector: a config, its weights, a CPU backend for the GEMMs. */
export class Detector {
  readonly backbone: Backbone;
  readonly rpn: Rpn;
  readonly head: BoxHead;
  readonly gemm: Gemm;

  constructor(
    readonly cfg: DetectorConfig,
    weights: DetectorWeights,
    backend: Backend = createBackend("blas"),
  ) {
    this.backbone = new Backbone(cfg, weights);
    this.rpn = new Rpn(cfg, weights);
    this.head = new BoxHead(cfg, weights);
    this.gemm = new Gemm(backend);
  }

  /** Steps 2..8 on a prepared input. */
  runPrepared(input: PreparedImage): DetectorStages {
    const { gemm, cfg } = this, F = cfg.FPN;
    const pyramid = this.backbone.run(gemm, input.data);
    const rpn: Record<number, RpnLevelOutput> = {}, levelProposals: Record<number, Proposals> = {};
    for (let l = F.RPN_MIN_LEVEL; l <= F.RPN_MAX_LEVEL; l++) {
      rpn[l] = this.rpn.head(gemm, pyramid.levels[l]!);
      levelProposals[l] = this.rpn.levelProposals(l, rpn[l]!, input.info);
    }
    const rois = this.rpn.collect(Object.values(levelProposals));
    const roiLevels = this.rpn.roiLevels(rois);
    const roiFeat = this.head.roiFeatures(pyramid.levels, rois.boxes, roiLevels);
    const head = this.head.run(gemm, roiFeat, rois.n);
    const predBoxes = this.head.predictedBoxes(
      rois.boxes,
      rois.n,
      head.bboxPred,
      input.info.scale,
      input.height0,
      input.width0,
    );
    const detections = this.head.detections(predBoxes, head.clsProb, rois.n);
    return { input, pyramid, rpn, levelProposals, rois, roiLevels, head, predBoxes, detections };
  }

  /** Steps 2..8 timed by group (milliseconds), for benchmarks. */
  profile(
    input: PreparedImage,
  ): { ms: { body_fpn: number; rpn: number; head: number; nms: number }; rois: number } {
    const { gemm, cfg } = this, F = cfg.FPN, t: number[] = [performance.now()];
    const pyramid = this.backbone.run(gemm, input.data);
    t.push(performance.now());
    const props = [];
    for (let l = F.RPN_MIN_LEVEL; l <= F.RPN_MAX_LEVEL; l++) {
      props.push(this.rpn.levelProposals(l, this.rpn.head(gemm, pyramid.levels[l]!), input.info));
    }
    const rois = this.rpn.collect(props);
    t.push(performance.now());
    const feat = this.head.roiFeatures(pyramid.levels, rois.boxes, this.rpn.roiLevels(rois));
    const head = this.head.run(gemm, feat, rois.n);
    t.push(performance.now());
    const pred = this.head.predictedBoxes(
      rois.boxes,
      rois.n,
      head.bboxPred,
      input.info.scale,
      input.height0,
      input.width0,
    );
    this.head.detections(pred, head.clsProb, rois.n);
    t.push(performance.now());
    return {
      ms: { body_fpn: t[1]! - t[0]!, rpn: t[2]! - t[1]!, head: t[3]! - t[2]!, nms: t[4]! - t[3]! },
      rois: rois.n,
    };
  }

  /** Every stage of one image. */
  stages(img: RgbImage): DetectorStages {
    return this.runPrepared(prepareImage(this.cfg, img));
  }

  /** The region arrays of one image. */
  detect(img: RgbImage): ImageDetections {
    return regionsOf(this.cfg, this.stages(img));
  }
}

/** The kept RoIs' rows of fc6 and cls_prob, and the bbox rows. */
export function regionsOf(cfg: DetectorConfig, s: DetectorStages): ImageDetections {
  const Fd = cfg.FAST_RCNN.MLP_HEAD_DIM, K = cfg.MODEL.NUM_CLASSES, keep = s.detections.keep;
  const feat = new Float32Array(keep.length * Fd), cls = new Float32Array(keep.length * K);
  keep.forEach((i, r) => {
    feat.set(s.head.fc6.subarray(i * Fd, (i + 1) * Fd), r * Fd);
    cls.set(s.head.clsProb.subarray(i * K, (i + 1) * K), r * K);
  });
  return { feat, cls, bbox: s.detections.bbox, count: keep.length };
}
