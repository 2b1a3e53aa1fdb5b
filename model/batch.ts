/**
 * The host-side batch a training or evaluation step takes, its validation, and the derived sizes.
 *
 * Layout of a sequence (ARCHITECTURE.md): index 0 `[CLS]`, 1..R the regions, R+1 the first `[SEP]`, text
 * from R+2. Token ids of the region slots are ignored (VLP puts `[UNK]` there).
 *
 * @module
 */
import type { VlpConfig } from "./config.ts";

/** Numbers in any array form (typed arrays or plain arrays; int64 data must be converted to numbers first). */
export type Numbers = ArrayLike<number>;

/** One batch, row-major host arrays (shapes use the glossary letters). */
export interface Batch {
  /** [B, R, F] region appearance features (float) */
  regionFeats: Numbers;
  /** [B, R, G] region geometry + class vector (float) */
  visPe: Numbers;
  /** [B, L] token ids */
  inputIds: Numbers;
  /** [B, L] segment ids */
  segmentIds: Numbers;
  /** [B, L] position ids (default 0..L−1 for every example) */
  positionIds?: Numbers;
  /** [B, L, L] 0/1 attention mask (row = query, column = key) */
  attentionMask: Numbers;
  /** [B, P] positions of the masked tokens (MLM) */
  maskedPos?: Numbers;
  /** [B, P] original ids at those positions */
  maskedIds?: Numbers;
  /** [B, P] 1 per real prediction, 0 for padding */
  maskedWeights?: Numbers;
  /** [B, A] VQA soft answer scores (vqa2 task) */
  answerTargets?: Numbers;
}

/** Sizes of a batch. */
export interface BatchDims {
  /** examples */
  B: number;
  /** sequence length */
  L: number;
  /** masked positions per example (0 when the batch has none) */
  P: number;
  /** whether VQA answer targets are present */
  hasAnswers: boolean;
  /** whether explicit position ids are present */
  hasPositions: boolean;
}

/** Derive and check the sizes of a batch against a configuration (TypeError naming the field otherwise). */
export function batchDims(batch: Batch, config: VlpConfig): BatchDims {
  const { regions: R, regionFeatureSize: F, regionGeometrySize: G } = config;
  const need = (name: string, n: number, shape: string) => {
    const a = (batch as unknown as Record<string, Numbers | undefined>)[name];
    if (!a || a.length !== n) {
      throw new TypeError(
        `Cannot use batch: "${name}" has ${a?.length ?? "no"} elements, expected ${n} = ${shape}`,
      );
    }
  };
  if (batch.regionFeats.length % (R * F) !== 0 || batch.regionFeats.length === 0) {
    throw new TypeError(
      `Cannot use batch: "regionFeats" has ${batch.regionFeats.length} elements, not a positive multiple of R·F = ${
        R * F
      }`,
    );
  }
  const B = batch.regionFeats.length / (R * F);
  const L = batch.inputIds.length / B;
  if (!Number.isInteger(L) || L < R + 2) {
    throw new TypeError(
      `Cannot use batch: "inputIds" has ${batch.inputIds.length} elements, B = ${B}, L must be ≥ R + 2`,
    );
  }
  if (L > config.maxPositions) {
    throw new RangeError(`Cannot use batch: L = ${L} exceeds maxPositions ${config.maxPositions}`);
  }
  need("visPe", B * R * G, `B·R·G (${B}·${R}·${G})`);
  need("segmentIds", B * L, `B·L (${B}·${L})`);
  if (batch.positionIds) need("positionIds", B * L, `B·L (${B}·${L})`);
  need("attentionMask", B * L * L, `B·L·L (${B}·${L}·${L})`);
  let P = 0;
  if (batch.maskedPos) {
    P = batch.maskedPos.length / B;
    if (!Number.isInteger(P)) {
      throw new TypeError(`Cannot use batch: "maskedPos" length ${batch.maskedPos.length} is not B·P`);
    }
    need("maskedIds", B * P, `B·P (${B}·${P})`);
    need("maskedWeights", B * P, `B·P (${B}·${P})`);
  }
  const hasAnswers = batch.answerTargets !== undefined;
  if (hasAnswers) need("answerTargets", B * config.numAnswers, `B·A (${B}·${config.numAnswers})`);
  return { B, L, P, hasAnswers, hasPositions: batch.positionIds !== undefined };
}
