/**
 * @vlp/onnx: export of the VLP model to ONNX (an encoder graph and an incremental decoding step graph with
 * a key/value cache, built from the model's parameter table and encoded with `onnx-proto`) and an inference
 * engine on onnxruntime-web (wasm with configurable threads, or WebGPU when an adapter exists) that
 * implements `@vlp/model`'s `DecodingEngine`, so the same greedy and beam search run on it.
 *
 * See onnx/README.md for the graphs' inputs, outputs and dynamic axes.
 *
 * @module
 */
export {
  exportOnnx,
  type ExportOptions,
  type ExportResult,
  type IoSpec,
  MANIFEST_FILE,
  modelWeights,
  type OnnxManifest,
  OnnxManifestSchema,
  readOnnxManifest,
} from "./export.ts";
export {
  buildDecoderGraph,
  buildEncoderGraph,
  type GraphOptions,
  type GraphWeights,
  OPSET,
  weightsFromFlat,
} from "./vlp_graph.ts";
export { decodeModel, GraphBuilder, IR_VERSION } from "./graph_builder.ts";
export {
  createSession,
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
  hasWebGpuAdapter,
  loadRuntime,
  type OrtRuntime,
  type RuntimeOptions,
} from "./runtime.ts";
export { checkExportConfig, OnnxDecoder, type OnnxForwardOutputs, OnnxModel } from "./engine.ts";
export { ensureFixtureExport, greedyDecode, onnxParityChecks, type OnnxParityOptions } from "./parity.ts";
