/**
 * The region proposal network on the pyramid (Detectron's `FPN.add_fpn_rpn_outputs`,
 * `utils/generate_anchors.py`, `ops/generate_proposals.py`, `ops/collect_and_distribute_fpn_rpn_proposals.py`):
 *
 * 1. per level 2..6, with the weights of the lowest level shared: 3×3 conv + ReLU, a 1×1 to A logits
 *    (sigmoid) and a 1×1 to 4A deltas; A anchors per position (one size per level, `RPN_ANCHOR_START_SIZE ·
 *    2^(level − 2)`, the aspect ratios), shifted by the level's stride;
 * 2. per level: the top `RPN_PRE_NMS_TOP_N` scores (in the order (y, x, anchor)), deltas applied with
 *    weights 1, clipped to the padded input, boxes with a side under `RPN_MIN_SIZE · scale` or their centre
 *    outside dropped, NMS at `RPN_NMS_THRESH`, the first `RPN_POST_NMS_TOP_N` kept;
 * 3. collect: the `RPN_POST_NMS_TOP_N` best of all levels (by score); distribute: each RoI to the level
 *    ⌊4 + log2(√area / 224 + 1e−6)⌋ clamped to 2..5 (`ROI_CANONICAL_LEVEL`, `ROI_CANONICAL_SCALE`).
 *
 * @module
 */
import { bboxTransform, clipBoxes, descendingOrder, nms } from "./boxes.ts";
import type { DetectorConfig } from "./config.ts";
import { foldedConv } from "./backbone.ts";
import type { ConvParams, FeatureMap, MapOps } from "./ops.ts";
import type { DetectorWeights } from "./weights.ts";

/** Detectron's `generate_anchors` for one size: `[A, 4]` around the cell (0, 0) of a level. */
export function levelAnchors(stride: number, size: number, ratios: readonly number[]): Float64Array {
  const out = new Float64Array(ratios.length * 4);
  const w = stride, h = stride, xc = 0.5 * (w - 1), yc = 0.5 * (h - 1);
  ratios.forEach((r, a) => {
    const ws = roundHalfEven(Math.sqrt((w * h) / r)), hs = roundHalfEven(ws * r), sc = size / stride;
    const ws2 = ws * sc, hs2 = hs * sc;
    out.set([xc - 0.5 * (ws2 - 1), yc - 0.5 * (hs2 - 1), xc + 0.5 * (ws2 - 1), yc + 0.5 * (hs2 - 1)], a * 4);
  });
  return out;
}

/** numpy's round-half-to-even, as `np.round` in `generate_anchors`. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  if (v - f !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** One level's RPN outputs: probs `[A, H, W]`, deltas `[4A, H, W]`. */
export interface RpnLevelOutput {
  probs: FeatureMap;
  deltas: FeatureMap;
}

/** Proposals of one level or all: boxes `[n, 4]` (input pixels) and their scores. */
export interface Proposals {
  boxes: Float64Array;
  scores: Float64Array;
  n: number;
}

/** The input's size (padded) and scale: Detectron's `im_info`. */
export interface ImInfo {
  height: number;
  width: number;
  scale: number;
}

/** RPN head and proposal generation of a config. */
export class Rpn {
  readonly #conv: ConvParams;
  readonly #cls: ConvParams;
  readonly #box: ConvParams;
  readonly A: number;

  constructor(readonly cfg: DetectorConfig, w: DetectorWeights) {
    const D = cfg.FPN.DIM, k = `fpn${cfg.FPN.RPN_MIN_LEVEL}`;
    this.A = cfg.FPN.RPN_ASPECT_RATIOS.length;
    this.#conv = foldedConv(w, `conv_rpn_${k}`, { cout: D, k: 3, pad: 1, relu: true });
    this.#cls = foldedConv(w, `rpn_cls_logits_${k}`, { cout: this.A, k: 1 });
    this.#box = foldedConv(w, `rpn_bbox_pred_${k}`, { cout: 4 * this.A, k: 1 });
  }

  /** The head on one level: sigmoid probabilities and deltas, on the host. */
  async head<M>(ops: MapOps<M>, level: M): Promise<RpnLevelOutput> {
    const hid = ops.conv(level, this.#conv);
    const logits = ops.conv(hid, this.#cls), deltas = ops.conv(hid, this.#box);
    ops.free(hid);
    const probs = await ops.read(logits), out = { probs, deltas: await ops.read(deltas) };
    ops.free(logits);
    ops.free(deltas);
    for (let i = 0; i < probs.data.length; i++) probs.data[i] = 1 / (1 + Math.exp(-probs.data[i]!));
    return out;
  }

  /** `proposals_for_one_image` of one level. */
  levelProposals(lvl: number, out: RpnLevelOutput, info: ImInfo): Proposals {
    const T = this.cfg.TEST, F = this.cfg.FPN, A = this.A;
    const { h: H, w: W } = out.probs, stride = 2 ** lvl;
    const anchors = levelAnchors(
      stride,
      F.RPN_ANCHOR_START_SIZE * 2 ** (lvl - F.RPN_MIN_LEVEL),
      F.RPN_ASPECT_RATIOS,
    );
    const total = H * W * A, hw = H * W;
    // index i = (y·W + x)·A + a (the transposed (H, W, A) order)
    const score = (i: number) => out.probs.data[(i % A) * hw + Math.floor(i / A)]!;
    let order = descendingOrder(total, score);
    if (T.RPN_PRE_NMS_TOP_N > 0 && T.RPN_PRE_NMS_TOP_N < total) {
      order = order.subarray(0, T.RPN_PRE_NMS_TOP_N);
    }
    const n = order.length, anc = new Float64Array(n * 4), del = new Float64Array(n * 4);
    const scores = new Float64Array(n);
    order.forEach((i, r) => {
      const a = i % A, p = Math.floor(i / A), x = p % W, y = Math.floor(p / W);
      for (let j = 0; j < 4; j++) {
        anc[r * 4 + j] = anchors[a * 4 + j]! + (j % 2 === 0 ? x : y) * stride;
        del[r * 4 + j] = out.deltas.data[(a * 4 + j) * hw + p]!;
      }
      scores[r] = score(i);
    });
    const props = clipBoxes(
      bboxTransform(anc, del, n, 1, [1, 1, 1, 1], T.BBOX_XFORM_CLIP),
      info.height,
      info.width,
    );
    const minSize = T.RPN_MIN_SIZE * info.scale, kept: number[] = [];
    for (let r = 0; r < n; r++) {
      const ws = props[r * 4 + 2]! - props[r * 4]! + 1, hs = props[r * 4 + 3]! - props[r * 4 + 1]! + 1;
      if (
        ws >= minSize && hs >= minSize && props[r * 4]! + ws / 2 < info.width &&
        props[r * 4 + 1]! + hs / 2 < info.height
      ) {
        kept.push(r);
      }
    }
    let final = kept;
    if (T.RPN_NMS_THRESH > 0) {
      const sel = nms(gatherBoxes(props, kept), (i) => scores[kept[i]!]!, kept.length, T.RPN_NMS_THRESH);
      final = (T.RPN_POST_NMS_TOP_N > 0 ? sel.slice(0, T.RPN_POST_NMS_TOP_N) : sel).map((i) => kept[i]!);
    }
    return {
      boxes: gatherBoxes(props, final),
      scores: Float64Array.from(final, (r) => scores[r]!),
      n: final.length,
    };
  }

  /** `collect`: the best `RPN_POST_NMS_TOP_N` proposals of all levels, by score. */
  collect(levels: Proposals[]): Proposals {
    const n = levels.reduce((s, p) => s + p.n, 0),
      boxes = new Float64Array(n * 4),
      scores = new Float64Array(n);
    let o = 0;
    for (const p of levels) {
      boxes.set(p.boxes.subarray(0, p.n * 4), o * 4);
      scores.set(p.scores.subarray(0, p.n), o);
      o += p.n;
    }
    const top = this.cfg.TEST.RPN_POST_NMS_TOP_N;
    const order = Array.from(descendingOrder(n, (i) => scores[i]!)).slice(0, top > 0 ? top : n);
    return {
      boxes: gatherBoxes(boxes, order),
      scores: Float64Array.from(order, (i) => scores[i]!),
      n: order.length,
    };
  }

  /** `map_rois_to_fpn_levels`: the pyramid level of each RoI. */
  roiLevels(rois: Proposals): Int32Array {
    const F = this.cfg.FPN, out = new Int32Array(rois.n);
    for (let i = 0; i < rois.n; i++) {
      const b = rois.boxes, o = 4 * i;
      const s = Math.sqrt((b[o + 2]! - b[o]! + 1) * (b[o + 3]! - b[o + 1]! + 1));
      const l = Math.floor(F.ROI_CANONICAL_LEVEL + Math.log2(s / F.ROI_CANONICAL_SCALE + 1e-6));
      out[i] = Math.max(F.ROI_MIN_LEVEL, Math.min(F.ROI_MAX_LEVEL, l));
    }
    return out;
  }
}

/** Rows `idx` of boxes `[n, 4]`. */
export function gatherBoxes(boxes: Float64Array, idx: readonly number[]): Float64Array {
  const out = new Float64Array(idx.length * 4);
  idx.forEach((r, i) => out.set(boxes.subarray(r * 4, r * 4 + 4), i * 4));
  return out;
}
