/**
 * The dynamic loss scale of `--fp16` (spec 8.2; the original's FP16_Optimizer with `dynamic_loss_scale`):
 * the loss is multiplied by S before the backward, the gradients are checked for Inf/NaN before each
 * optimiser step, and
 * - on an overflow the step is skipped (gradients dropped) and S halves (not below 1);
 * - otherwise the gradients are divided by S, the step runs, and after `window` (1000) clean steps in a row S
 *   doubles.
 * S starts at 2^16. The gradients and the optimiser are float32 (only the GEMM weights are float16,
 * model/half.ts), so overflows are rare; the scale is there for the original's semantics and its record.
 *
 * @module
 */
import { halfBackend, type VlpModel } from "@vlp/model";
import { sumOverRanks } from "./dist/data_parallel.ts";
import type { World } from "./dist/world.ts";

/** The scale's state and its rule (see the module doc). */
export class DynamicLossScale {
  /** the current scale S */
  scale: number;
  /** clean steps since the last change */
  cleanSteps = 0;
  /** skipped steps so far */
  overflows = 0;
  constructor(readonly initial = 2 ** 16, readonly window = 1000) {
    this.scale = initial;
  }

  /** After a step's overflow check: true if the step may run. Updates the scale. */
  update(overflow: boolean): boolean {
    if (overflow) {
      this.scale = Math.max(1, this.scale / 2);
      this.cleanSteps = 0;
      this.overflows++;
      return false;
    }
    if (++this.cleanSteps >= this.window) {
      this.scale *= 2;
      this.cleanSteps = 0;
    }
    return true;
  }
}

/**
 * Before an optimiser step of an fp16 model: count the non-finite gradients; on none, divide the gradients
 * by the scale the backward used. Returns whether the step may run (and updates `scaler`).
 *
 * Across ranks (`world`; the gradients already summed over them) the count is summed over the ranks too, so
 * that an Inf or NaN on any rank skips the step on all and every rank's scale takes the same history (the
 * sum of the gradients would carry a non-finite value to every rank as well, but the decision should not
 * rest on every rank's copy of the sum being bitwise the same). The gradients are unscaled after the sum.
 */
export async function unscaleGradients(
  model: VlpModel,
  scaler: DynamicLossScale,
  world?: World,
): Promise<boolean> {
  const be = halfBackend(model.backend);
  const count = be.alloc([1]);
  try {
    be.countNonFinite(model.grads, count);
    const own = (await be.read(count))[0];
    const bad = world ? await sumOverRanks(world, own) : own;
    const used = scaler.scale;
    const ok = scaler.update(bad > 0);
    if (ok) be.scaleInPlace(model.grads, 1 / used);
    return ok;
  } finally {
    be.free(count);
  }
}
