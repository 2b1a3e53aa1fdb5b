/**
 * Helpers for this member's tests (not exported from mod.ts): a small random model and its export into a
 * temporary directory (random batches: `randomBatch` of `@vlp/testing`).
 *
 * @module
 */
import { parseConfig, ReferenceBackend, type Task, type VlpConfig, VlpModel } from "@vlp/model";
import { exportOnnx, type ExportResult } from "./export.ts";

/**
 * A configuration small enough for fast ONNX Runtime sessions (vocabulary above the [MASK] id 103); not
 * `@vlp/testing`'s `smallConfig` (C 32), which the GPU tests and benches use.
 */
export const sessionConfig: VlpConfig = parseConfig({
  vocabSize: 120,
  hiddenSize: 16,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 24,
  maxPositions: 40,
  regions: 5,
  regionFeatureSize: 12,
  regionHiddenSize: 10,
  regionGeometrySize: 7,
  numAnswers: 9,
  initializerRange: 0.5,
});

/** A seeded random model of {@linkcode sessionConfig} on the float32 reference backend. */
export function sessionModel(task: Task = "vqa2", seed = 3): VlpModel {
  return new VlpModel({ config: sessionConfig, task, backend: new ReferenceBackend(), seed });
}

/** Export a model into a new temporary directory; returns the directory and the result. */
export async function exportToTemp(
  model: VlpModel,
  fp16 = false,
): Promise<{ dir: string; result: ExportResult }> {
  const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-" });
  return { dir, result: await exportOnnx(model, dir, { fp16 }) };
}
