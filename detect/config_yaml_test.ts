/**
 * Detectron YAML configs as `--detector_config`: the network's fields taken (tuples as strings included),
 * training fields ignored, another network's fields refused by name.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readDetectorConfig, RELEASED_CONFIG } from "./config.ts";
import { detectronYamlConfig } from "./config_yaml.ts";

const YAML = `# a Visual Genome variant of Detectron's X-101-64x4d FPN config
MODEL:
  TYPE: generalized_rcnn
  CONV_BODY: FPN.add_fpn_ResNet101_conv5_body
  NUM_CLASSES: 1601
  FASTER_RCNN: True
  BBOX_REG_WEIGHTS: (10., 10., 5., 5.)
NUM_GPUS: 8
SOLVER:
  BASE_LR: 0.01
  STEPS: [0, 240000, 320000]
FPN:
  FPN_ON: True
  MULTILEVEL_ROIS: True
  MULTILEVEL_RPN: True
RESNETS:
  STRIDE_1X1: False
  TRANS_FUNC: bottleneck_transformation
  NUM_GROUPS: 64
  WIDTH_PER_GROUP: 4
FAST_RCNN:
  ROI_BOX_HEAD: fast_rcnn_heads.add_roi_2mlp_head
  ROI_XFORM_METHOD: RoIAlign
  ROI_XFORM_RESOLUTION: 7
  ROI_XFORM_SAMPLING_RATIO: 2
  MLP_HEAD_DIM: 2048
TRAIN:
  DATASETS: ('vg_train',)
  SCALES: (800,)
TEST:
  SCALE: 800
  MAX_SIZE: 1333
  NMS: 0.5
  RPN_PRE_NMS_TOP_N: 1000  # per FPN level
  RPN_POST_NMS_TOP_N: 1000
OUTPUT_DIR: .
`;

Deno.test("detector config from Detectron YAML: the network's fields, tuples read, training ignored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "vg.yaml"), YAML);
    const cfg = await readDetectorConfig(join(dir, "vg.yaml"));
    assert.deepEqual(cfg, {
      ...RELEASED_CONFIG,
      TEST: { ...RELEASED_CONFIG.TEST, SCALE: 800, MAX_SIZE: 1333, NMS: 0.5 },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detector config from Detectron YAML: another network's field is an error naming it", () => {
  for (
    const [from, to, field] of [
      ["ROI_XFORM_METHOD: RoIAlign", "ROI_XFORM_METHOD: RoIPoolF", "FAST_RCNN.ROI_XFORM_METHOD"],
      [
        "CONV_BODY: FPN.add_fpn_ResNet101_conv5_body",
        "CONV_BODY: ResNet.add_ResNet101_conv4_body",
        "MODEL.CONV_BODY",
      ],
      [
        "FASTER_RCNN: True",
        "FASTER_RCNN: True\n  CLS_AGNOSTIC_BBOX_REG: True",
        "MODEL.CLS_AGNOSTIC_BBOX_REG",
      ],
    ]
  ) {
    assert.throws(
      () => detectronYamlConfig(YAML.replace(from!, to!), "x.yaml"),
      new RegExp(`"x\\.yaml": ${field}`),
    );
  }
  assert.throws(
    () => detectronYamlConfig("MODEL: [unclosed", "bad.yaml"),
    /Cannot read detector config "bad\.yaml"/,
  );
});
