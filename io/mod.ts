/**
 * @vlp/io: the container formats VLP's files come in, read safely and written atomically.
 *
 * - numpy `.npy` / `.npz` (read and write), object arrays through a safe pickle reader (and a plain-data
 *   pickle writer for object arrays such as VQA imdb files);
 * - PyTorch checkpoints, legacy (pre-1.6) and zip format (read), zip format (write, `torch.load` reads it);
 * - HDF5 files (read through h5wasm, float16 included; written by a small HDF5 writer of our own);
 * - atomic writes: a temporary file in the target's folder, renamed over the target when complete; the
 *   temporaries a killed process left behind are removed by the next writer (`removeStaleTemporaries`).
 *
 * No reader ever runs code from a file; every reader fails with an error naming the file (and key or
 * expected shape) on damaged or hostile input. What the files mean (region features, data sets) is
 * `@vlp/features`' business.
 *
 * ```ts
 * import { loadTorchStateDict, readNpyFile, toFloat32 } from "@vlp/io";
 * const sd = await loadTorchStateDict("model.30.bin");
 * const w = toFloat32(sd.get("bert.pooler.dense.weight")!); // [C, C]
 * ```
 *
 * @module
 */
export { type DType, fmtShape, type NdArray, type NdData, toFloat32 } from "./ndarray.ts";
export {
  type NpyHeader,
  type NpyObjects,
  readNpy,
  readNpyFile,
  readNpyHeader,
  readNpyObjects,
  readNpyObjectsFile,
  writeNpy,
  writeNpyObjects,
} from "./npy.ts";
export { Pickler, pickleValue, PyFloat } from "./pickle_writer.ts";
export { readNpz, readNpzBytes, writeNpz } from "./npz.ts";
export { type NumpyPickleOptions, readNumpyPickle } from "./numpy_pickle.ts";
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
export {
  isTemporaryName,
  removeStaleTemporaries,
  temporaryPath,
  writeBytesAtomic,
  writeFileAtomic,
  writeTextAtomic,
} from "./atomic.ts";
