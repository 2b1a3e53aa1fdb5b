/**
 * BertAdam's learning-rate schedules (pytorch_pretrained_bert `optimization.py`, spec 8.1): a factor of the
 * base learning rate as a function of x = step / t_total and the warm-up proportion w.
 *
 * - `warmup_linear`:   x/w while x < w, then max((x − 1)/(w − 1), 0): linear warm-up, linear decay to 0;
 * - `warmup_constant`: x/w while x < w, then 1;
 * - `warmup_cosine`:   x/w while x < w, then 0.5·(1 + cos(π·x)).
 *
 * The step is BertAdam's own per-tensor counter, which starts at 0: the first update of a run therefore has
 * factor 0 (x = 0 < w) and leaves the parameters unchanged, exactly as in the original. With t_total = −1 the
 * factor is 1 (no schedule); with w = −1 there is no warm-up (x < −1 never holds).
 *
 * Quirk not reproduced: the original's `warmup_cosine` calls `torch.cos` on a Python float, which raises a
 * TypeError as soon as the warm-up is over; here it computes the evident intent.
 *
 * @example Usage
 * ```ts
 * import { scheduleFactor } from "@vlp/train";
 * import assert from "node:assert/strict";
 * assert.equal(scheduleFactor("warmup_linear", 0, 0.1), 0);
 * assert.equal(scheduleFactor("warmup_linear", 0.05, 0.1), 0.5);
 * assert.equal(scheduleFactor("warmup_linear", 1, 0.1), 0);
 * ```
 *
 * @module
 */

/** The schedules of `--sche_mode`. */
export const SCHEDULES = ["warmup_linear", "warmup_constant", "warmup_cosine"] as const;

/** One of {@linkcode SCHEDULES}. */
export type Schedule = typeof SCHEDULES[number];

/** The factor of the base learning rate at x = step/t_total with warm-up proportion `warmup`. */
export function scheduleFactor(schedule: Schedule, x: number, warmup: number): number {
  if (x < warmup) return x / warmup;
  switch (schedule) {
    case "warmup_linear":
      return Math.max((x - 1) / (warmup - 1), 0);
    case "warmup_constant":
      return 1;
    case "warmup_cosine":
      return 0.5 * (1 + Math.cos(Math.PI * x));
    default:
      throw new RangeError(`Unknown schedule "${schedule}": expected one of ${SCHEDULES.join(", ")}`);
  }
}

/** The learning rate of an update at BertAdam step `step` (t_total −1: no schedule). */
export function scheduledLr(
  lr: number,
  schedule: Schedule,
  step: number,
  tTotal: number,
  warmup: number,
): number {
  return tTotal === -1 ? lr : lr * scheduleFactor(schedule, step / tTotal, warmup);
}

/**
 * The original's t_total: int(batches per epoch · epochs / accumulation steps), where batches per epoch is
 * ⌈N / (train_batch_size / accumulation)⌉ (the DataLoader keeps the last, partial batch).
 */
export function totalSteps(batchesPerEpoch: number, epochs: number, accumulation: number): number {
  return Math.trunc((batchesPerEpoch * epochs * 1.0) / accumulation);
}
