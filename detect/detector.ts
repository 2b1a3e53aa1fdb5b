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
import { type Backend, createBackend, WebGpuBackend } from "@vlp/model";
import { Backbone, type Pyramid } from "./backbone.ts";
import type { DetectorConfig } from "./config.ts";
import { BoxHead, type Detections, type HeadOutput, MIN_BOXES } from "./head.ts";
import type { RgbImage } from "./image.ts";
import { CpuMapOps, type FeatureMap, Gemm, type MapOps } from "./ops.ts";
import { type GpuMap, GpuMapOps } from "./webgpu/ops.ts";
import { type PreparedImage, prepareImage } from "./preprocess.ts";
import { type Proposals, Rpn, type RpnLevelOutput } from "./rpn.ts";
import type { DetectorWeights } from "./weights.ts";

/** Every intermediate result of one image (for parity checks and inspection). */
export interface DetectorStages {
  input: PreparedImage;
  /** res2..res5 and P2..P6 on the host (only when asked for: `keepMaps`) */
  pyramid?: Pyramid<FeatureMap>;
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
  /** rows repeated to reach 100 (0 unless the image had fewer RoIs) */
  padded: number;
}

/** A detector: a config, its weights, a backend (CPU: GEMMs of host maps; webgpu: maps on the device). */
export class Detector {
  readonly backbone: Backbone;
  readonly rpn: Rpn;
  readonly head: BoxHead;
  /** The dense operations: on the host (CPU backends) or on the device (webgpu). */
  readonly ops: MapOps<FeatureMap> | MapOps<GpuMap>;

  constructor(
    readonly cfg: DetectorConfig,
    weights: DetectorWeights,
    backend: Backend = createBackend("blas"),
  ) {
    this.backbone = new Backbone(cfg, weights);
    this.rpn = new Rpn(cfg, weights);
    this.head = new BoxHead(cfg, weights);
    this.ops = backend instanceof WebGpuBackend ? new GpuMapOps(backend) : new CpuMapOps(new Gemm(backend));
  }

  /** Steps 2..8 on a prepared input; `keepMaps` also returns the body's and the pyramid's maps. */
  runPrepared(input: PreparedImage, keepMaps = true, times?: number[]): Promise<DetectorStages> {
    return this.ops instanceof GpuMapOps
      ? this.#run(this.ops, input, keepMaps, times)
      : this.#run(this.ops as CpuMapOps, input, keepMaps, times);
  }

  /** The steps; `times` (when given) receives performance.now() after the body, the proposals, the head. */
  async #run<M>(
    ops: MapOps<M>,
    input: PreparedImage,
    keepMaps: boolean,
    times?: number[],
  ): Promise<DetectorStages> {
    const { cfg } = this, F = cfg.FPN;
    times?.push(performance.now());
    const data = ops.upload(input.data);
    const pyr = this.backbone.run(ops, data);
    ops.free(data);
    if (times) {
      await ops.read(pyr.levels[F.RPN_MAX_LEVEL]!); // the body's work is done
      times.push(performance.now());
    }
    const rpn: Record<number, RpnLevelOutput> = {}, levelProposals: Record<number, Proposals> = {};
    for (let l = F.RPN_MIN_LEVEL; l <= F.RPN_MAX_LEVEL; l++) {
      rpn[l] = await this.rpn.head(ops, pyr.levels[l]!);
      levelProposals[l] = this.rpn.levelProposals(l, rpn[l]!, input.info);
    }
    const rois = this.rpn.collect(Object.values(levelProposals));
    const roiLevels = this.rpn.roiLevels(rois);
    times?.push(performance.now());
    const roiFeat = await this.head.roiFeatures(ops, pyr.levels, rois.boxes, roiLevels);
    const head = await this.head.run(ops, roiFeat, rois.n);
    times?.push(performance.now());
    const predBoxes = this.head.predictedBoxes(
      rois.boxes,
      rois.n,
      head.bboxPred,
      input.info.scale,
      input.height0,
      input.width0,
    );
    const detections = this.head.detections(predBoxes, head.clsProb, rois.n);
    times?.push(performance.now());
    let pyramid: Pyramid<FeatureMap> | undefined;
    if (keepMaps) pyramid = await hostPyramid(ops, pyr);
    else for (const m of [...Object.values(pyr.body), ...Object.values(pyr.levels)]) ops.free(m);
    return { input, pyramid, rpn, levelProposals, rois, roiLevels, head, predBoxes, detections };
  }

  /** Steps 2..8 timed by group (milliseconds; device work included), for benchmarks. */
  async profile(
    input: PreparedImage,
  ): Promise<{ ms: { body_fpn: number; rpn: number; head: number; nms: number }; rois: number }> {
    const t: number[] = [];
    const s = await this.runPrepared(input, false, t);
    return {
      ms: { body_fpn: t[1]! - t[0]!, rpn: t[2]! - t[1]!, head: t[3]! - t[2]!, nms: t[4]! - t[3]! },
      rois: s.rois.n,
    };
  }

  /** Every stage of one image. */
  stages(img: RgbImage): Promise<DetectorStages> {
    return this.runPrepared(prepareImage(this.cfg, img));
  }

  /** The region arrays of one image (the maps are released as soon as the RoI features are taken). */
  async detect(img: RgbImage): Promise<ImageDetections> {
    return regionsOf(this.cfg, await this.runPrepared(prepareImage(this.cfg, img), false));
  }
}

/** The pyramid on the host (device maps read back and released). */
async function hostPyramid<M>(ops: MapOps<M>, p: Pyramid<M>): Promise<Pyramid<FeatureMap>> {
  const body = {} as Record<2 | 3 | 4 | 5, FeatureMap>, levels: Record<number, FeatureMap> = {};
  for (const s of [2, 3, 4, 5] as const) {
    body[s] = await ops.read(p.body[s]);
    ops.free(p.body[s]);
  }
  for (const [l, m] of Object.entries(p.levels)) {
    levels[Number(l)] = await ops.read(m);
    ops.free(m);
  }
  return { body, levels };
}

/**
 * The kept RoIs' rows of fc6 and cls_prob, and the bbox rows. An image with fewer than `MIN_BOXES` RoIs in
 * all (a very small or very elongated image) gets its kept rows repeated in order up to `MIN_BOXES` (the
 * original would write fewer rows, which VLP's loader cannot take); `padded` counts the repeats.
 */
export function regionsOf(cfg: DetectorConfig, s: DetectorStages): ImageDetections {
  const Fd = cfg.FAST_RCNN.MLP_HEAD_DIM, K = cfg.MODEL.NUM_CLASSES, kept = s.detections.keep;
  const n = kept.length > 0 ? Math.max(kept.length, MIN_BOXES) : 0;
  const feat = new Float32Array(n * Fd), cls = new Float32Array(n * K), bbox = new Float32Array(n * 6);
  for (let r = 0; r < n; r++) {
    const j = r % kept.length, i = kept[j]!;
    feat.set(s.head.fc6.subarray(i * Fd, (i + 1) * Fd), r * Fd);
    cls.set(s.head.clsProb.subarray(i * K, (i + 1) * K), r * K);
    bbox.set(s.detections.bbox.subarray(j * 6, j * 6 + 6), r * 6);
  }
  return { feat, cls, bbox, count: n, padded: n - kept.length };
}
