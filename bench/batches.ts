/**
 * Inputs shared by the bench scripts: one training batch in VLP's layout, so that every script that times a
 * forward or a training step (model_bench, onnx_bench, gpu_bench, model_ops_profile) times the same work.
 *
 * @module
 */
import { type Batch, Rng, seq2seqMask, type VlpConfig } from "@vlp/model";

/**
 * A seeded training batch of B examples, L = R + 2 + T: `[CLS]`, R region slots (`[UNK]`), `[SEP]`, T − 1
 * random wordpieces and the final `[SEP]` (BERT ids 101, 100, 102; words from id 1000 up, or from V/2 for
 * vocabularies under 2000); segment ids 4/5, seq2seq masks over the whole text; P masked positions at every
 * 4th text slot from the first (4·(P − 1) < T), targets the ids there, weights 1; region features uniform in [0, 2) (ReLU'd
 * fc6 outputs are non-negative), geometry uniform in [0, 1).
 */
export function trainingBatch(config: VlpConfig, B: number, T: number, P: number, seed = 7): Batch {
  const rng = new Rng(seed);
  const R = config.regions, L = R + 2 + T, V = config.vocabSize;
  if (R + 2 + 4 * (P - 1) > L - 1) {
    throw new RangeError(`Cannot build a bench batch: ${P} masked positions do not fit ${T} text slots`);
  }
  const lo = Math.min(1000, V >> 1), span = Math.min(20000, V - lo);
  const ids = new Int32Array(B * L), seg = new Int32Array(B * L), mask = new Uint8Array(B * L * L);
  const mpos = new Int32Array(B * P), mids = new Int32Array(B * P);
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      ids[b * L + l] = l === 0 ? 101 : l <= R ? 100 : l === R + 1 || l === L - 1 ? 102 : lo + rng.int(span);
      seg[b * L + l] = l < R + 2 ? 4 : 5;
    }
    mask.set(seq2seqMask({ L, R, textLength: T }), b * L * L);
    for (let p = 0; p < P; p++) {
      mpos[b * P + p] = R + 2 + 4 * p;
      mids[b * P + p] = ids[b * L + mpos[b * P + p]];
    }
  }
  return {
    regionFeats: rng.fillUniform(new Float32Array(B * R * config.regionFeatureSize), 0, 2),
    visPe: rng.fillUniform(new Float32Array(B * R * config.regionGeometrySize)),
    inputIds: ids,
    segmentIds: seg,
    attentionMask: mask,
    maskedPos: mpos,
    maskedIds: mids,
    maskedWeights: new Float32Array(B * P).fill(1),
  };
}
