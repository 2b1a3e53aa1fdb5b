/**
 * @vlp/model: the VLP transformer (BERT-base + region embedding) with hand-written backward, on swappable
 * backends (plain TypeScript reference in float32/float64, OpenBLAS through FFI, WebGPU), checkpoint
 * loading and saving in VLP's state_dict format, and an incremental decoding forward with a key/value cache.
 *
 * See model/README.md for the backend interface and an end-to-end example.
 *
 * @module
 */
export * from "./config.ts";
export * from "./backend.ts";
export * from "./params.ts";
export * from "./batch.ts";
export * from "./vlp.ts";
export { type HalfBackend, halfBackend, halfModelTensors } from "./half.ts";
export { Rng, type RngState, SEED_SALTS } from "./rng.ts";
export * from "./defaults.ts";
export * from "./backend_contract.ts";
export { CpuBackend, cpuData, CpuTensor, forEachBatchItem } from "./backends/cpu.ts";
export { ReferenceBackend } from "./backends/reference.ts";
export { BlasBackend, type BlasOptions } from "./backends/blas.ts";
export { openBlasCoreName } from "./backends/openblas.ts";
export {
  BACKEND_NAMES,
  type BackendName,
  blasRequired,
  createBackend,
  openBackend,
} from "./backends/create.ts";
export { WebGpuBackend, type WebGpuOptions } from "./backends/webgpu/backend.ts";
export { NoAdapterError } from "./backends/webgpu/device.ts";
// for kernels of other members that run on the WebGPU backend's device (`WebGpuBackend.rt.dispatch`)
export { type BindingDef, invocations, type KernelDef } from "./backends/webgpu/kernel.ts";
export { type Bind, type GpuTensor, gpuTensor } from "./backends/webgpu/runtime.ts";
export { elementwise } from "./backends/webgpu/kernels/elementwise.ts";
export { GEMM_TILES, type GemmTileName } from "./backends/webgpu/kernels/matmul.ts";
export {
  DEFAULT_GEMM_TABLE,
  type GemmTable,
  type GemmTableEntry,
  gemmTableFromFile,
  gemmTableFromRecord,
  isSmallGemm,
  lookupGemmTile,
} from "./backends/webgpu/ops/gemm_table.ts";
export { figuresBetween, type PlanFigures } from "./backends/webgpu/plan.ts";
export * from "./checkpoint.ts";
export * from "./masks.ts";
export * from "./decode_schedule.ts";
export * from "./incremental.ts";
export * from "./predict.ts";
export { backendConformance, type ConformanceResult } from "./backends/conformance.ts";
export { SIMD_CHUNK, SimdKernels } from "./backends/simd.ts";
export type { FloatArray } from "./kernels/types.ts";
