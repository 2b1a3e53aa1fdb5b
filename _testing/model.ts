/**
 * Model test inputs shared by the members' tests: a micro configuration (vary it with
 * `parseConfig({ ...microConfig, ...changes })`) and random batches in VLP's layout.
 *
 * @module
 */
import { type Batch, bidirectionalMask, parseConfig, seq2seqMask, type VlpConfig } from "@vlp/model";
import { Rng } from "@vlp/model/rng";

/** A configuration small enough for float64 finite differences over every parameter. */
export const microConfig: VlpConfig = parseConfig({
  vocabSize: 40,
  hiddenSize: 8,
  numLayers: 2,
  numHeads: 2,
  intermediateSize: 12,
  maxPositions: 16,
  regions: 3,
  regionFeatureSize: 6,
  regionHiddenSize: 5,
  regionGeometrySize: 4,
  numAnswers: 7,
  initializerRange: 0.5,
  hiddenDropout: 0.2,
  attentionDropout: 0.15,
});

/**
 * Small but complete: every layer type, 2 layers, regions, masked LM and the VQA head, wide enough (C 32)
 * for GPU kernels and benchmarks of the whole step.
 */
export const smallConfig: VlpConfig = parseConfig({
  vocabSize: 300,
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 64,
  maxPositions: 64,
  regions: 6,
  regionFeatureSize: 20,
  regionHiddenSize: 12,
  regionGeometrySize: 9,
  numAnswers: 17,
  initializerRange: 0.1,
});

/** Options of {@linkcode randomBatch}. */
export interface RandomBatchOptions {
  B: number;
  /** text positions after the first [SEP] (so L = R + 2 + T) */
  T: number;
  /** masked positions per example (0: none) */
  P: number;
  mode: "s2s" | "bi";
  answers?: boolean;
  seed?: number;
}

/** A random batch in VLP's layout with real masks and masked positions inside the text. */
export function randomBatch(config: VlpConfig, o: RandomBatchOptions): Batch {
  const rng = new Rng(o.seed ?? 1);
  const { regions: R, regionFeatureSize: F, regionGeometrySize: G, vocabSize: V } = config;
  const L = R + 2 + o.T, B = o.B;
  const ids = new Int32Array(B * L), seg = new Int32Array(B * L), mask = new Uint8Array(B * L * L);
  const pos = new Int32Array(B * o.P), mids = new Int32Array(B * o.P), mw = new Float32Array(B * o.P);
  for (let b = 0; b < B; b++) {
    const textLength = 1 + rng.int(o.T); // wordpieces + final [SEP]
    const [s0, s1] = o.mode === "s2s" ? [4, 5] : [0, 1];
    for (let l = 0; l < L; l++) {
      const text = l >= R + 2 && l < R + 2 + textLength;
      ids[b * L + l] = l === 0 ? 1 : l <= R ? 2 : l === R + 1 ? 3 : text ? 5 + rng.int(V - 5) : 0;
      seg[b * L + l] = l < R + 2 ? s0 : text ? s1 : 0;
    }
    mask.set((o.mode === "s2s" ? seq2seqMask : bidirectionalMask)({ L, R, textLength }), b * L * L);
    for (let p = 0; p < o.P; p++) {
      const real = p < textLength;
      pos[b * o.P + p] = real ? R + 2 + rng.int(textLength) : 0;
      mids[b * o.P + p] = real ? 1 + rng.int(V - 1) : 0;
      mw[b * o.P + p] = real ? 1 : 0;
    }
  }
  return {
    regionFeats: rng.fillNormal(new Float32Array(B * R * F)),
    visPe: rng.fillUniform(new Float32Array(B * R * G)),
    inputIds: ids,
    segmentIds: seg,
    attentionMask: mask,
    ...(o.P > 0 ? { maskedPos: pos, maskedIds: mids, maskedWeights: mw } : {}),
    ...(o.answers ? { answerTargets: rng.fillUniform(new Float32Array(B * config.numAnswers)) } : {}),
  };
}
