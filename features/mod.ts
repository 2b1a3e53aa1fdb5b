/**
 * @vlp/features: VLP's region features and data sets, read and validated.
 *
 * - region features in VLP's three on-disk layouts (COCO and CC HDF5 shards, Flickr30k's per-image npy
 *   files, the merged bbox file), shape-checked, and the 1607-d region vector the loader computes;
 * - data sets validated with zod: Karpathy-split JSON, valid-jpgs, Pythia VQA imdb, answers, soft scores;
 * - the data-set checker behind `deno task check-data`.
 *
 * The container formats underneath (npy, pickle, HDF5, atomic writes) are `@vlp/io`.
 *
 * ```ts
 * import { RegionReader } from "@vlp/features";
 * const regions = RegionReader.open({ dataset: "coco", imageRoot: "COCO/region_feat_gvd_wo_bgd" });
 * const { feats, visPe } = await regions.load("COCO_val2014_000000391895"); // [R, F], [R, G]
 * ```
 *
 * @module
 */
export { LN_EPS, regionVector } from "./region_vector.ts";
export {
  DEFAULT_LAYOUTS,
  type ImageInputs,
  type ImageRegions,
  MissingRegionError,
  type RegionDataset,
  type RegionDims,
  type RegionLayout,
  type RegionPart,
  regionPaths,
  RegionReader,
  type RegionReaderOptions,
  RegionShapeError,
  shardOf,
  VLP_DIMS,
  writeRegionFiles,
  type WriteRegionOptions,
} from "./regions.ts";
export {
  type CaptionDataset,
  evalImageId,
  featureDir,
  featureId,
  imagesOfSplits,
  type KarpathyFile,
  type KarpathyImage,
  type KarpathySentence,
  loadKarpathy,
  loadValidJpgs,
  type Split,
  SPLITS,
} from "./karpathy.ts";
export {
  AnswerVocab,
  type Imdb,
  type ImdbHeader,
  type ImdbQuestion,
  loadAnswerVocab,
  loadVqaImdb,
  normalizeAnswer,
  NUM_ANSWERS,
  UNK,
  VQA_ANSWERS,
  vqaFeatureId,
  vqaSoftScores,
} from "./vqa.ts";
export { jsonPath, parseWith, readJson } from "./validate.ts";
export {
  checkData,
  type CheckDataOptions,
  type CheckDataReport,
  checkImage,
  firstNonFinite,
  PROBLEM_KINDS,
  type ProblemKind,
  type RegionProblem,
} from "./check_data.ts";
