/**
 * Detectron's YAML config files (`e2e_faster_rcnn_X-101-64x4d-FPN_2x-vlp.yaml`, as `merge_cfg_from_file`
 * reads them) as the JSON form of {@linkcode DetectorConfig}: the fields that define this network and its test
 * behaviour are taken, Python tuples written as strings (`(10., 10., 5., 5.)`) read as lists; fields of
 * training, solver and data sets are ignored; a field that would make another network than this code runs
 * (another body, head, RoI transform, class-agnostic boxes, GroupNorm, ...) is an error naming it.
 *
 * @module
 */
import { parse } from "yaml";

/** Bodies of `modeling/FPN.py` by their block counts (res2..res5). */
const BODIES: Readonly<Record<string, [number, number, number, number]>> = {
  "FPN.add_fpn_ResNet50_conv5_body": [3, 4, 6, 3],
  "FPN.add_fpn_ResNet101_conv5_body": [3, 4, 23, 3],
  "FPN.add_fpn_ResNet152_conv5_body": [3, 8, 36, 3],
};

/** Fields whose value must be this code's, else the network is another one. */
const REQUIRED: Readonly<Record<string, unknown>> = {
  "MODEL.TYPE": "generalized_rcnn",
  "MODEL.FASTER_RCNN": true,
  "MODEL.MASK_ON": false,
  "MODEL.KEYPOINTS_ON": false,
  "MODEL.CLS_AGNOSTIC_BBOX_REG": false,
  "FPN.FPN_ON": true,
  "FPN.MULTILEVEL_ROIS": true,
  "FPN.MULTILEVEL_RPN": true,
  "FPN.USE_GN": false,
  "FPN.EXTRA_CONV_LEVELS": false,
  "RESNETS.TRANS_FUNC": "bottleneck_transformation",
  "RESNETS.STEM_FUNC": "basic_bn_stem",
  "RESNETS.RES5_DILATION": 1,
  "FAST_RCNN.ROI_BOX_HEAD": "fast_rcnn_heads.add_roi_2mlp_head",
  "FAST_RCNN.ROI_XFORM_METHOD": "RoIAlign",
  "TEST.BBOX_REG": true,
  "TEST.BBOX_AUG.ENABLED": false,
  "TEST.SOFT_NMS.ENABLED": false,
  "TEST.BBOX_VOTE.ENABLED": false,
};

/** The fields taken, by section. */
const TAKEN: Readonly<Record<string, readonly string[]>> = {
  MODEL: ["NUM_CLASSES", "BBOX_REG_WEIGHTS"],
  RESNETS: ["NUM_GROUPS", "WIDTH_PER_GROUP", "STRIDE_1X1", "RES2_OUT_DIM"],
  FPN: [
    "DIM",
    "COARSEST_STRIDE",
    "RPN_MIN_LEVEL",
    "RPN_MAX_LEVEL",
    "ROI_MIN_LEVEL",
    "ROI_MAX_LEVEL",
    "RPN_ANCHOR_START_SIZE",
    "RPN_ASPECT_RATIOS",
    "ROI_CANONICAL_SCALE",
    "ROI_CANONICAL_LEVEL",
  ],
  FAST_RCNN: ["MLP_HEAD_DIM", "ROI_XFORM_RESOLUTION", "ROI_XFORM_SAMPLING_RATIO"],
  TEST: [
    "SCALE",
    "MAX_SIZE",
    "NMS",
    "RPN_PRE_NMS_TOP_N",
    "RPN_POST_NMS_TOP_N",
    "RPN_NMS_THRESH",
    "RPN_MIN_SIZE",
  ],
};

/** A Python tuple or list literal of numbers written as a string, `(10., 10., 5., 5.)` → [10, 10, 5, 5]. */
function pyNumbers(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const m = /^\s*[([]+\s*(.*?)\s*[)\]]+\s*$/.exec(v);
  if (!m) return v;
  const parts = m[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const nums = parts.map(Number);
  return nums.every((n) => Number.isFinite(n)) ? nums : v;
}

function get(o: unknown, path: string): unknown {
  let v = o;
  for (const k of path.split(".")) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** The JSON form of the config of a Detectron YAML file's text (`name` for messages). */
export function detectronYamlConfig(text: string, name = "<yaml>"): Record<string, unknown> {
  let y: unknown;
  try {
    y = parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot read detector config "${name}": ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof y !== "object" || y === null || Array.isArray(y)) {
    throw new TypeError(`Cannot read detector config "${name}": expected a YAML mapping`);
  }
  for (const [path, want] of Object.entries(REQUIRED)) {
    const v = get(y, path);
    if (v !== undefined && v !== want) {
      throw new RangeError(
        `Cannot read detector config "${name}": ${path} is ${JSON.stringify(v)}; only ${
          JSON.stringify(want)
        } ` +
          `is supported (detectron-vlp's network)`,
      );
    }
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, fields] of Object.entries(TAKEN)) {
    for (const f of fields) {
      const v = get(y, `${section}.${f}`);
      if (v !== undefined) (out[section] ??= {})[f] = pyNumbers(v);
    }
  }
  const body = get(y, "MODEL.CONV_BODY");
  if (body !== undefined) {
    const counts = BODIES[String(body)];
    if (!counts) {
      throw new RangeError(
        `Cannot read detector config "${name}": MODEL.CONV_BODY ${JSON.stringify(body)} is not one of ` +
          Object.keys(BODIES).join(", "),
      );
    }
    (out.RESNETS ??= {}).BLOCK_COUNTS = counts;
  }
  const head = out.FAST_RCNN?.MLP_HEAD_DIM;
  if (head !== undefined) out.FAST_RCNN!.FC7_DIM = head; // Detectron's fc7 is as wide as fc6
  const scales = pyNumbers(get(y, "TEST.SCALES"));
  if (out.TEST?.SCALE === undefined && Array.isArray(scales) && scales.length === 1) {
    (out.TEST ??= {}).SCALE = scales[0];
  }
  const clip = get(y, "BBOX_XFORM_CLIP");
  if (clip !== undefined) (out.TEST ??= {}).BBOX_XFORM_CLIP = clip;
  const means = pyNumbers(get(y, "PIXEL_MEANS"));
  const result: Record<string, unknown> = { ...out };
  if (means !== undefined) result.PIXEL_MEANS = means;
  return result;
}
