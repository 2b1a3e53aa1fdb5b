/**
 * Helpers for this member's tests (not exported from mod.ts): a small random model and its export into a
 * temporary directory, and random batches in VLP's layout.
 *
 * @module
 */
import {
  type Batch,
  parseConfig,
  ReferenceBackend,
  seq2seqMask,
  type Task,
  type VlpConfig,
  VlpModel,
} from "@vlp/model";
import { Rng } from "@vlp/testing";
import { exportOnnx, type ExportResult } from "./export.ts";

/** A configuration small enough for fast sessions (vocabulary above the [MASK] id 103). */
export const smallConfig: VlpConfig = parseConfig({
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

/** A seeded random model of {@linkcode smallConfig} on the float32 reference backend. */
export function smallModel(task: Task = "vqa2", seed = 3): VlpModel {
  return new VlpModel({ config: smallConfig, task, backend: new ReferenceBackend(), seed });
}

/** Export a model into a new temporary directory; returns the directory and the result. */
export async function exportToTemp(
  model: VlpModel,
  fp16 = false,
): Promise<{ dir: string; result: ExportResult }> {
  const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-" });
  return { dir, result: await exportOnnx(model, dir, { fp16 }) };
}

/** A random seq2seq batch: B examples of T text positions, P masked positions each. */
export function s2sBatch(config: VlpConfig, B: number, T: number, P: number, seed = 1): Batch {
  const rng = new Rng(seed);
  const { regions: R, regionFeatureSize: F, regionGeometrySize: G, vocabSize: V } = config;
  const L = R + 2 + T;
  const ids = new Int32Array(B * L), seg = new Int32Array(B * L), mask = new Uint8Array(B * L * L);
  const pos = new Int32Array(B * P);
  for (let b = 0; b < B; b++) {
    const textLength = 1 + rng.int(T);
    for (let l = 0; l < L; l++) {
      ids[b * L + l] = l === 0 ? 101 : l <= R ? 100 : l === R + 1 ? 102 : 5 + rng.int(V - 5);
      seg[b * L + l] = l < R + 2 ? 4 : 5;
    }
    mask.set(seq2seqMask({ L, R, textLength }), b * L * L);
    for (let p = 0; p < P; p++) pos[b * P + p] = R + 2 + rng.int(T);
  }
  return {
    regionFeats: rng.fillNormal(new Float32Array(B * R * F)),
    visPe: rng.fillUniform(new Float32Array(B * R * G)),
    inputIds: ids,
    segmentIds: seg,
    attentionMask: mask,
    ...(P > 0
      ? {
        maskedPos: pos,
        maskedIds: new Int32Array(B * P).fill(1),
        maskedWeights: new Float32Array(B * P).fill(1),
      }
      : {}),
  };
}
