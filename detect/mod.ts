/**
 * @vlp/detect: detectron-vlp's region detector (Faster R-CNN, ResNeXt-101 64x4d FPN, 1601 Visual Genome
 * classes) in TypeScript, reading the released Detectron weights, so that VLP can caption one's own images.
 *
 * | file            | what (original)                                                                                  |
 * | --------------- | ------------------------------------------------------------------------------------------------ |
 * | `config.ts`     | the config fields (Detectron's `core/config.py` names), the released model's values              |
 * | `weights.ts`    | the `.pkl` blobs by name, checked by shape (`utils/net.py` loading, safe pickle of `@vlp/io`)    |
 * | `image.ts`      | JPEG/PNG decoding, EXIF orientation (`cv2.imread`)                                               |
 * | `preprocess.ts` | BGR, pixel means, resize, padding (`utils/blob.py`)                                              |
 * | `ops.ts`        | im2col convolution over a backend's GEMM, pooling, upsampling, FC                                |
 * | `conv_taps.ts`  | stride-1 k×k convolution as one GEMM per tap over a padded band (no im2col)                       |
 * | `buffer_pool.ts`| reused host maps and scratch arrays of the CPU path                                              |
 * | `backbone.ts`   | ResNeXt body and FPN (`modeling/ResNet.py`, `modeling/FPN.py`)                                   |
 * | `rpn.ts`        | anchors, RPN head, proposals, collect/distribute (`ops/generate_proposals.py`, ...)              |
 * | `boxes.ts`      | box transform, clipping, NMS with the `+1` convention (`utils/boxes.py`)                         |
 * | `roi_align.ts`  | Caffe2's RoIAlign                                                                                |
 * | `head.ts`       | fc6/fc7, class probabilities, box regression, the per-class NMS and 100-box rule (`extract_features.py`) |
 * | `detector.ts`   | the steps in order, one image                                                                    |
 * | `extract.ts`    | a folder of images → VLP's region files (`feat`/`cls` shards, merged bbox, Karpathy json)        |
 *
 * ```ts
 * import { Detector, loadDetectorWeights, readDetectorConfig, readImage } from "@vlp/detect";
 * const cfg = await readDetectorConfig("detect/testdata/small_detector.json");
 * const det = new Detector(cfg, await loadDetectorWeights("detect/testdata/small_detector.pkl", cfg));
 * const { feat, cls, bbox } = det.detect(await readImage("photo.jpg")); // [R, F], [R, K], [R, 6]
 * ```
 *
 * @module
 */
export { type DetectorConfig, parseDetectorConfig, readDetectorConfig, RELEASED_CONFIG } from "./config.ts";
export {
  type BlobSpec,
  blobSpecs,
  type DetectorWeights,
  loadDetectorWeights,
  parseDetectorWeights,
} from "./weights.ts";
export { decodeImage, ImageDecodeError, orient, readImage, type RgbImage } from "./image.ts";
export { imageScale, type PreparedImage, prepareImage } from "./preprocess.ts";
export { Detector, type DetectorStages, type ImageDetections, regionsOf } from "./detector.ts";
export { CONF_THRESH, MAX_BOXES, MIN_BOXES } from "./head.ts";
export {
  datasetFiles,
  extractFeatures,
  type ExtractOptions,
  type ExtractReport,
  listImages,
} from "./extract.ts";
