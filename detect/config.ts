/**
 * The detector's configuration: the fields of Detectron's config (`core/config.py`, under its own names and
 * sections) that define the network and its test-time behaviour, with the values of the released
 * detectron-vlp model (`e2e_faster_rcnn_X-101-64x4d-FPN_2x-vlp.yaml`), and three fields Detectron fixes in
 * code that a smaller network needs to change (`RESNETS.STEM_OUT_DIM`, `RESNETS.BLOCK_COUNTS`,
 * `FAST_RCNN.FC7_DIM`).
 *
 * A `--detector_config` JSON file holds any subset of these sections and fields; the rest keep the released
 * model's values. Unknown sections or fields are errors (a misspelt field must not silently keep a default).
 *
 * @module
 */
import { z } from "zod";
import { detectronYamlConfig } from "./config_yaml.ts";

const num: z.ZodNumber = z.number().finite();
const pos: z.ZodNumber = z.number().int().positive();

const Sections = {
  MODEL: z.object({
    /** classes including the background (K) */
    NUM_CLASSES: pos,
    /** weights of the box head's (dx, dy, dw, dh) */
    BBOX_REG_WEIGHTS: z.tuple([num, num, num, num]),
  }).strict(),
  RESNETS: z.object({
    NUM_GROUPS: pos,
    WIDTH_PER_GROUP: pos,
    /** the stride of a block sits on its 1x1 (true, MSRA ResNet) or its 3x3 convolution (false, ResNeXt) */
    STRIDE_1X1: z.boolean(),
    /** output channels of the stem (Detectron: 64, fixed in `basic_bn_stem`) */
    STEM_OUT_DIM: pos,
    RES2_OUT_DIM: pos,
    /** blocks of res2..res5 (Detectron: from the body's name; ResNet-101 is 3, 4, 23, 3) */
    BLOCK_COUNTS: z.tuple([pos, pos, pos, pos]),
  }).strict(),
  FPN: z.object({
    DIM: pos,
    COARSEST_STRIDE: pos,
    RPN_MIN_LEVEL: pos,
    RPN_MAX_LEVEL: pos,
    ROI_MIN_LEVEL: pos,
    ROI_MAX_LEVEL: pos,
    RPN_ANCHOR_START_SIZE: z.number().positive(),
    RPN_ASPECT_RATIOS: z.array(z.number().positive()).min(1),
    ROI_CANONICAL_SCALE: z.number().positive(),
    ROI_CANONICAL_LEVEL: pos,
  }).strict(),
  FAST_RCNN: z.object({
    /** fc6 output size (F, VLP's region feature) */
    MLP_HEAD_DIM: pos,
    /** fc7 output size (Detectron: MLP_HEAD_DIM) */
    FC7_DIM: pos,
    ROI_XFORM_RESOLUTION: pos,
    ROI_XFORM_SAMPLING_RATIO: z.number().int().min(0),
  }).strict(),
  TEST: z.object({
    SCALE: pos,
    MAX_SIZE: pos,
    /** per-class NMS threshold of the final boxes */
    NMS: num,
    RPN_PRE_NMS_TOP_N: z.number().int(),
    RPN_POST_NMS_TOP_N: z.number().int(),
    RPN_NMS_THRESH: num,
    RPN_MIN_SIZE: num,
    BBOX_XFORM_CLIP: num,
  }).strict(),
};

/** The detector's configuration (Detectron's sections and names; see the schema above for each field). */
export interface DetectorConfig {
  MODEL: { NUM_CLASSES: number; BBOX_REG_WEIGHTS: [number, number, number, number] };
  RESNETS: {
    NUM_GROUPS: number;
    WIDTH_PER_GROUP: number;
    STRIDE_1X1: boolean;
    STEM_OUT_DIM: number;
    RES2_OUT_DIM: number;
    BLOCK_COUNTS: [number, number, number, number];
  };
  FPN: {
    DIM: number;
    COARSEST_STRIDE: number;
    RPN_MIN_LEVEL: number;
    RPN_MAX_LEVEL: number;
    ROI_MIN_LEVEL: number;
    ROI_MAX_LEVEL: number;
    RPN_ANCHOR_START_SIZE: number;
    RPN_ASPECT_RATIOS: number[];
    ROI_CANONICAL_SCALE: number;
    ROI_CANONICAL_LEVEL: number;
  };
  FAST_RCNN: {
    MLP_HEAD_DIM: number;
    FC7_DIM: number;
    ROI_XFORM_RESOLUTION: number;
    ROI_XFORM_SAMPLING_RATIO: number;
  };
  TEST: {
    SCALE: number;
    MAX_SIZE: number;
    NMS: number;
    RPN_PRE_NMS_TOP_N: number;
    RPN_POST_NMS_TOP_N: number;
    RPN_NMS_THRESH: number;
    RPN_MIN_SIZE: number;
    BBOX_XFORM_CLIP: number;
  };
  /** BGR means subtracted from the pixels (no division by a standard deviation) */
  PIXEL_MEANS: [number, number, number];
}

const DetectorConfigSchema: z.ZodType<DetectorConfig> = z.object({
  ...Sections,
  PIXEL_MEANS: z.tuple([num, num, num]),
}).strict();

/** The released detectron-vlp model's: X-101-64x4d-FPN, 1601 Visual Genome classes, 2048-d fc6. */
export const RELEASED_CONFIG: Readonly<DetectorConfig> = Object.freeze({
  MODEL: { NUM_CLASSES: 1601, BBOX_REG_WEIGHTS: [10, 10, 5, 5] },
  RESNETS: {
    NUM_GROUPS: 64,
    WIDTH_PER_GROUP: 4,
    STRIDE_1X1: false,
    STEM_OUT_DIM: 64,
    RES2_OUT_DIM: 256,
    BLOCK_COUNTS: [3, 4, 23, 3],
  },
  FPN: {
    DIM: 256,
    COARSEST_STRIDE: 32,
    RPN_MIN_LEVEL: 2,
    RPN_MAX_LEVEL: 6,
    ROI_MIN_LEVEL: 2,
    ROI_MAX_LEVEL: 5,
    RPN_ANCHOR_START_SIZE: 32,
    RPN_ASPECT_RATIOS: [0.5, 1, 2],
    ROI_CANONICAL_SCALE: 224,
    ROI_CANONICAL_LEVEL: 4,
  },
  FAST_RCNN: { MLP_HEAD_DIM: 2048, FC7_DIM: 2048, ROI_XFORM_RESOLUTION: 7, ROI_XFORM_SAMPLING_RATIO: 2 },
  TEST: {
    SCALE: 600,
    MAX_SIZE: 1000,
    NMS: 0.3,
    RPN_PRE_NMS_TOP_N: 1000,
    RPN_POST_NMS_TOP_N: 1000,
    RPN_NMS_THRESH: 0.7,
    RPN_MIN_SIZE: 0,
    BBOX_XFORM_CLIP: Math.log(1000 / 16),
  },
  PIXEL_MEANS: [102.9801, 115.9465, 122.7717],
} as DetectorConfig);

/**
 * The released configuration with the sections and fields of `json` replacing its values. `name` (the
 * file) is named in errors.
 */
export function parseDetectorConfig(json: unknown, name = "<config>"): DetectorConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new TypeError(`Cannot read detector config "${name}": expected a JSON object`);
  }
  const merged: Record<string, unknown> = structuredClone(RELEASED_CONFIG) as Record<string, unknown>;
  for (const [key, value] of Object.entries(json)) {
    const base = merged[key];
    merged[key] =
      typeof base === "object" && base !== null && !Array.isArray(base) && typeof value === "object" &&
        value !== null && !Array.isArray(value)
        ? { ...base, ...value }
        : value;
  }
  const r = DetectorConfigSchema.safeParse(merged);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new TypeError(
      `Cannot read detector config "${name}": ${i.path.join(".") || "(top)"}: ${i.message}`,
    );
  }
  const c = r.data;
  if (c.FPN.RPN_MIN_LEVEL !== c.FPN.ROI_MIN_LEVEL || c.FPN.ROI_MAX_LEVEL + 1 !== c.FPN.RPN_MAX_LEVEL) {
    throw new RangeError(
      `Cannot read detector config "${name}": levels RPN ${c.FPN.RPN_MIN_LEVEL}..${c.FPN.RPN_MAX_LEVEL}, ` +
        `RoI ${c.FPN.ROI_MIN_LEVEL}..${c.FPN.ROI_MAX_LEVEL}: only Detectron's FPN layout (RoI levels = the ` +
        `body's, one more RPN level by subsampling) is supported`,
    );
  }
  if (c.FPN.ROI_MIN_LEVEL !== 2 || c.FPN.ROI_MAX_LEVEL !== 5) {
    throw new RangeError(`Cannot read detector config "${name}": FPN levels must be res2..res5 (2..5)`);
  }
  return c;
}

/**
 * Read a `--detector_config` file: JSON of the sections and fields above, or Detectron's YAML config
 * (`.yaml`, `.yml`; `config_yaml.ts`), over the released model's values.
 */
export async function readDetectorConfig(path: string): Promise<DetectorConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`Cannot read detector config "${path}": ${(e as Error).message}`);
  }
  if (/\.ya?ml$/i.test(path)) return parseDetectorConfig(detectronYamlConfig(text, path), path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot read detector config "${path}": ${(e as Error).message}`);
  }
  return parseDetectorConfig(json, path);
}
