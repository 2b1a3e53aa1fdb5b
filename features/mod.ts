/**
 * @vlp/features: every file VLP reads and writes, read safely.
 *
 * - numpy `.npy` / `.npz` (read and write), object arrays through a safe pickle reader;
 * - PyTorch checkpoints, legacy (pre-1.6) and zip format (read), zip format (write, `torch.load` reads it);
 * - HDF5 region shards (read through h5wasm, float16 included; written by a small HDF5 writer of our own),
 *   Flickr30k's per-image npy files, the merged bbox file, and the 1607-d region vector;
 * - data sets validated with zod: Karpathy-split JSON, valid-jpgs, Pythia VQA imdb, answers, soft scores;
 *
 * ```ts
 * import { loadTorchStateDict, readNpyFile, toFloat32 } from "@vlp/features";
 * const sd = await loadTorchStateDict("model.30.bin");
 * const w = toFloat32(sd.get("bert.pooler.dense.weight")!); // [C, C]
 * ```
 *
 * @module
 */
export { type DType, type NdArray, type NdData, toFloat32 } from "./ndarray.ts";
export {
  type NpyHeader,
  type NpyObjects,
  readNpy,
  readNpyFile,
  readNpyHeader,
  readNpyObjects,
  readNpyObjectsFile,
  writeNpy,
} from "./npy.ts";
export { readNpz, readNpzBytes, writeNpz } from "./npz.ts";
export { loadTorchStateDict } from "./torch_load.ts";
export { saveTorchStateDict } from "./torch_save.ts";
export {
  isTuple,
  type PickleGlobals,
  type PyBuildable,
  type PyGlobal,
  unpickle,
  type UnpickleOptions,
  type UnpickleResult,
} from "./pickle.ts";
export { type H5DatasetInfo, H5File, readH5 } from "./h5_reader.ts";
export { H5Writer, writeH5 } from "./h5_writer.ts";
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
export { writeBytesAtomic, writeFileAtomic } from "./atomic.ts";
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
