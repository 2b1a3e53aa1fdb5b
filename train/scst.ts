/**
 * Self-critical sequence training (spec 4.3; `run_img2txt_dist.py --scst`, `vlp/scst_utils.py`), computed
 * as the original computes it. Per batch (training examples with `--max_pred 0 --mask_prob 0`, seq2seq):
 *
 * 1. Baseline: greedy decoding without dropout over T = L − R − 2 = 21 steps, with the training example's
 *    own segment ids and seq2seq attention mask (`@vlp/decode` CaptionDecoder on the incremental forward).
 * 2. Sample: multinomial sampling from softmax(logits) with dropout on (train mode), same inputs.
 * 3. Both are post-processed (`@vlp/decode` truncateAtEnd): ids up to the first `[SEP]` or `[PAD]` (a `[SEP]`
 *    terminator kept), then 0.
 * 4. Reward = CIDEr-D(sample) − CIDEr-D(greedy) per example (`@vlp/eval` CiderD), where every caption is the
 *    string of its wordpiece ids up to and including the first 0, the only reference is the pair's own
 *    ground truth (`input_ids[:, R+2:]`, same string form), and the document frequencies come from the
 *    2B references of the batch (each ground truth twice, so ref_len = log(2B)).
 * 5. Loss = −Σ logp(sampleₜ)·reward·maskₜ / Σ maskₜ with maskₜ = 1 for t = 0, else [sampleₜ₋₁ > 0] (the
 *    step of the terminator included, everything after excluded).
 *
 * Quirks reproduced: the single reference and batch document frequencies; CIDEr-D over id strings with the
 * trailing "0"; 21 generation steps; the mask of the training example, whose text block is causal only up to
 * the ground-truth length + 1, so generated positions beyond it see only `[CLS]`, the regions and the first
 * `[SEP]` (not even themselves), and get segment id 0 (the example's padding).
 *
 * How the gradient is computed: the original back-propagates through its incremental decoding. Here one
 * training forward/backward runs over a "doubled" sequence that holds, after the prompt, the sampled words
 * y₀..y_{T−2} at positions A..A+T−2 and then T `[MASK]`s, the t-th at position A + t (explicit position
 * ids), with an attention mask built from the example's (real word rows see the prompt and the words before
 * them; `[MASK]` t sees the prompt, y₀..yₜ₋₁ and itself). This is exactly the computation of incremental
 * decoding (states of a word depend only on earlier words under a causal mask), so the `[MASK]` logits are
 * those that produced the samples, up to dropout; the tests check it against the incremental decoder and
 * against one forward per step. The loss is the model's masked-LM loss at the `[MASK]` slots with weights
 * reward·mask and normalizer Σ mask.
 *
 * Randomness: the sampling pass draws from streams keyed by (seed, epoch, micro-batch index)
 * ({@linkcode scstStreams}), not from one generator running through the epoch, so data-parallel ranks
 * sample each micro-batch as one process does; the gradient pass takes its dropout seeds from the model's RNG,
 * as every training step does.
 *
 * Deviation: dropout draws differ between the sampling pass and the gradient pass (the original samples and
 * differentiates in one pass, so both see the same dropout masks); the log-probabilities in the loss are those
 * of the sampled words under an independent dropout draw.
 *
 * @module
 */
import { type CaptionDecoder, type SequentialResult, type SpecialIds, truncateAtEnd } from "@vlp/decode";
import { CiderD } from "@vlp/eval";
import { type Batch, Rng, SEED_SALTS, type VlpModel } from "@vlp/model";
import { mixSeed } from "./loader.ts";
import type { HostBatch } from "./batch_builder.ts";
import type { StepFn } from "./trainer.ts";

/** The original's `array_to_str`: ids joined by spaces up to and including the first 0. */
export function arrayToStr(ids: ArrayLike<number>): string {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    out.push(ids[i]);
    if (ids[i] === 0) break;
  }
  return out.join(" ");
}

/**
 * `get_self_critical_reward`: per example CIDEr-D(sample) − CIDEr-D(greedy) against the example's own
 * ground truth, document frequencies over the 2B references of the batch. Rows are [B, T] post-processed ids.
 */
export function selfCriticalReward(
  greedy: Int32Array,
  gt: Int32Array,
  sample: Int32Array,
  B: number,
): Float64Array {
  const row = (a: Int32Array, b: number) => a.subarray((b * a.length) / B, ((b + 1) * a.length) / B);
  const refs: string[][] = [];
  for (let k = 0; k < 2; k++) for (let b = 0; b < B; b++) refs.push([arrayToStr(row(gt, b))]);
  const cider = CiderD.fromReferences(refs);
  const reward = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    reward[b] = cider.score(arrayToStr(row(sample, b)), refs[b]) -
      cider.score(arrayToStr(row(greedy, b)), refs[B + b]);
  }
  return reward;
}

/** The loss mask of `RewardCriterion` on post-processed samples [B, T]: 1, then [seq_{t−1} > 0]. */
export function rewardMask(seq: Int32Array, B: number): Float32Array {
  const T = seq.length / B, m = new Float32Array(seq.length);
  for (let b = 0; b < B; b++) {
    m[b * T] = 1;
    for (let t = 1; t < T; t++) m[b * T + t] = seq[b * T + t - 1] > 0 ? 1 : 0;
  }
  return m;
}

/** Sizes of the doubled layout. */
export interface DoubledDims {
  /** R + 2 */
  A: number;
  /** generation steps (L − A) */
  T: number;
  /** the training length A + T */
  L: number;
  /** A + (T − 1) + T */
  L2: number;
}

/** The doubled-layout dims of training length L and R regions. */
export function doubledDims(L: number, R: number): DoubledDims {
  const A = R + 2, T = L - A;
  return { A, T, L, L2: A + 2 * T - 1 };
}

/**
 * The doubled training batch of the module doc from a training batch and the raw samples [B, T]: input ids,
 * segment ids, position ids, the [L2, L2] masks, and the masked positions (the `[MASK]` slots) with the
 * sampled ids as targets. Weights are left to the caller.
 */
export function doubledBatch(batch: HostBatch, samples: Int32Array, R: number, maskId: number): Batch & {
  positionIds: Int32Array;
  maskedPos: Int32Array;
  maskedIds: Int32Array;
} {
  const B = batch.examples.length, L = batch.inputIds.length / B;
  const { A, T, L2 } = doubledDims(L, R);
  const ids = new Int32Array(B * L2), seg = new Int32Array(B * L2), mask = new Uint8Array(B * L2 * L2);
  const positions = new Int32Array(B * L2);
  const pos = new Int32Array(B * T), tgt = new Int32Array(B * T);
  const posOf = (slot: number) => (slot < A + T - 1 ? slot : slot - (T - 1));
  for (let b = 0; b < B; b++) {
    const M = batch.attentionMask.subarray(b * L * L, (b + 1) * L * L);
    for (let i = 0; i < L2; i++) {
      const p = posOf(i), isMaskSlot = i >= A + T - 1;
      ids[b * L2 + i] = i < A ? batch.inputIds[b * L + i] : isMaskSlot ? maskId : samples[b * T + (i - A)];
      seg[b * L2 + i] = batch.segmentIds[b * L + p];
      positions[b * L2 + i] = p;
      const row = b * L2 * L2 + i * L2;
      for (let j = 0; j < A; j++) mask[row + j] = M[p * L + j];
      if (!isMaskSlot) {
        for (let j = A; j < A + T - 1; j++) mask[row + j] = M[p * L + j];
      } else {
        for (let j = A; j < p; j++) mask[row + j] = M[p * L + j];
        mask[row + i] = M[p * L + p];
      }
    }
    for (let t = 0; t < T; t++) {
      pos[b * T + t] = A + T - 1 + t;
      tgt[b * T + t] = samples[b * T + t];
    }
  }
  return {
    regionFeats: batch.regionFeats,
    visPe: batch.visPe,
    inputIds: ids,
    segmentIds: seg,
    positionIds: positions,
    attentionMask: mask,
    maskedPos: pos,
    maskedIds: tgt,
  };
}

/** Options of {@linkcode scstStep}. */
export interface ScstOptions {
  model: VlpModel;
  /** a decoder for the micro-batch size with maxTgtLength T = L − R − 2 (21) */
  decoder: CaptionDecoder;
  /** the run seed (`--seed`): the sampling streams of each micro-batch derive from it ({@linkcode scstStreams}) */
  seed: number;
  ids: SpecialIds;
}

/**
 * The random streams of SCST's sampling pass for micro-batch `batch` of `epoch`: one draws the sampled words,
 * one the dropout seeds of the sampling pass. A pure function of (seed, epoch, batch), so a micro-batch
 * samples the same words whichever rank takes it and however many ranks share the epoch, and a resumed
 * run samples as the uninterrupted one.
 */
export function scstStreams(seed: number, epoch: number, batch: number): { sample: Rng; dropout: Rng } {
  return {
    sample: new Rng(mixSeed(seed ^ SEED_SALTS.scstSample, epoch, batch)),
    dropout: new Rng(mixSeed(seed ^ SEED_SALTS.scstDropout, epoch, batch)),
  };
}

/** The SCST training step (see the module doc); logs the mean reward as `reward`. */
export function scstStep(o: ScstOptions): StepFn {
  const { model, decoder, ids } = o;
  const R = model.dims.R;
  return async (batch, ctx) => {
    const B = batch.examples.length, L = batch.inputIds.length / B;
    const { A, T } = doubledDims(L, R);
    if (decoder.layout.length !== L) {
      throw new RangeError(
        `SCST: the decoder generates up to length ${decoder.layout.length}, the batches have L = ${L}`,
      );
    }
    const images = {
      regionFeats: batch.regionFeats,
      visPe: batch.visPe,
      attentionMask: batch.attentionMask,
      segmentIds: batch.segmentIds,
    };
    const greedy: SequentialResult = await decoder.greedy(images);
    const streams = scstStreams(o.seed, ctx.epoch, ctx.batch);
    const sample: SequentialResult = await decoder.sample(images, {
      rng: streams.sample,
      dropoutRng: streams.dropout,
    });
    const greedyCut = truncateAtEnd(greedy.ids, B, ids.sep, ids.pad),
      sampleCut = truncateAtEnd(sample.ids, B, ids.sep, ids.pad);
    const gt = new Int32Array(B * T);
    for (let b = 0; b < B; b++) gt.set(batch.inputIds.subarray(b * L + A, (b + 1) * L), b * T);
    const reward = selfCriticalReward(greedyCut, gt, sampleCut, B);
    const mask = rewardMask(sampleCut, B);

    const d = doubledBatch(batch, sample.ids, R, ids.mask);
    const w = new Float32Array(B * T);
    let n = 0, mean = 0;
    for (let b = 0; b < B; b++) {
      mean += reward[b] / B;
      for (let t = 0; t < T; t++) {
        w[b * T + t] = reward[b] * mask[b * T + t];
        n += mask[b * T + t];
      }
    }
    const t = model.forwardBackward({ ...d, maskedWeights: w }, { lossScale: ctx.lossScale, normalizer: n });
    return { loss: await model.readScalar(t), values: { reward: mean } };
  };
}
