/**
 * @vlp/features: every file VLP reads and writes, read safely.
 *
 * - numpy `.npy` / `.npz` (read and write), object arrays through a safe pickle reader;
 * - PyTorch checkpoints, legacy (pre-1.6) and zip format (read), zip format (write, `torch.load` reads it);
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
