/**
 * Data parallelism for the training loop (trainer.ts), DDP's job done with explicit collectives over a
 * {@linkcode World}:
 *
 * - **Dealing**: the epoch's micro-batches are those of a single-process run (loader.ts: the permutation of
 *   (seed, epoch) cut into micro-batches). They are dealt as `DistributedSampler` deals indices, round
 *   robin: rank r takes micro-batches r, r + N, r + 2N, … ({@linkcode rankBatches}). Round t is micro-batches
 *   tN … tN + N − 1, one per rank; the last round of an epoch may leave ranks idle.
 * - **Updates**: the loss scale is 1 / (N · accumulation) and the gradients are summed over the ranks
 *   ({@linkcode allreduceGradients}), and the update happens where a single process with N · accumulation
 *   micro-batches per update would update (the original's `(batch + 1) % accumulation == 0` on the global
 *   micro-batch index). So N ranks with `--train_batch_size b` are, in exact arithmetic, one process with
 *   `--train_batch_size N·b --gradient_accumulation_steps N` (the same examples in the same micro-batches of
 *   the same updates, including the micro-batches an epoch leaves pending). An idle rank of a last round
 *   adds a zero gradient, so no example is padded in twice: the ranks still take the same number of
 *   optimiser steps, which is what padding is for in DDP (there, every backward is a collective).
 * - **Dropout**: every rank's dropout RNG walks the single process's sequence: a rank skips the draws of the
 *   micro-batches of the round that the other ranks take ({@linkcode advanceRng}), so after every round all
 *   ranks hold the same RNG state, and the one saved with a checkpoint is the single process's. A step's
 *   other random streams (SCST's sampling) are keyed by (seed, epoch, micro-batch index) instead
 *   (`StepContext.batch`), which is the same whichever rank takes the micro-batch.
 * - **`--fp16`**: the non-finite gradients are counted after the sum and the count is summed over the ranks
 *   ({@linkcode sumOverRanks}), so every rank skips the same steps; each round compares the ranks' loss
 *   scales ({@linkcode checkScalesAgree}).
 * - **Weights**: rank 0's initial weights are broadcast ({@linkcode broadcastParameters}); a hash of the
 *   parameters is compared across ranks every few updates and before each checkpoint
 *   ({@linkcode checkWeightsAgree}).
 *
 * @module
 */
import type { Rng, RngState, Tensor, VlpModel } from "@vlp/model";
import type { World } from "./world.ts";

/** Gradient elements per all-reduce bucket: 25 MB of float32, as DDP's default `bucket_cap_mb`. */
export const BUCKET_ELEMENTS = (25 * 1024 * 1024) / 4;

/** The micro-batches (indices of the epoch) rank `rank` of `size` takes: rank, rank + size, …. */
export function rankBatches(batches: number, size: number, rank: number): number[] {
  if (!(Number.isInteger(size) && size >= 1 && Number.isInteger(rank) && rank >= 0 && rank < size)) {
    throw new RangeError(`Invalid rank ${rank} of a world of ${size}`);
  }
  const out: number[] = [];
  for (let i = rank; i < batches; i += size) out.push(i);
  return out;
}

/** Advance an RNG by `draws` 32-bit draws. */
export function advanceRng(rng: Rng, draws: number): void {
  for (let i = 0; i < draws; i++) rng.nextU32();
}

/**
 * How many 32-bit draws take `rng` from state `from` to state `to` (at most `limit`); a RangeError when
 * `to` is not reached.
 */
export function drawsBetween(rng: Rng, from: RngState, to: RngState, limit = 1 << 16): number {
  const saved = rng.getState();
  try {
    rng.setState(from);
    for (let n = 0; n <= limit; n++) {
      const s = rng.getState();
      if (s[0] === to[0] && s[1] === to[1] && s[2] === to[2] && s[3] === to[3]) return n;
      rng.nextU32();
    }
  } finally {
    rng.setState(saved);
  }
  throw new RangeError(`The RNG state was not reached within ${limit} draws`);
}

/** Flat ranges of `total` elements, each at most `cap` long. */
export function buckets(total: number, cap = BUCKET_ELEMENTS): { offset: number; size: number }[] {
  const out = [];
  for (let o = 0; o < total; o += cap) out.push({ offset: o, size: Math.min(cap, total - o) });
  return out;
}

function asFloat(a: ArrayLike<number>, floatType: "float32" | "float64"): Float32Array | Float64Array {
  if (floatType === "float64") return a instanceof Float64Array ? a : Float64Array.from(a);
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

/**
 * Sum a flat tensor over the ranks in buckets: each bucket is read to the host, all-reduced on an FFI
 * thread while the next one is read, and written back (in place; a no-op in a world of one).
 */
export async function allreduceTensor(
  model: VlpModel,
  world: World,
  t: Tensor,
  cap = BUCKET_ELEMENTS,
): Promise<{ seconds: number }> {
  if (world.size === 1) return { seconds: 0 };
  const be = model.backend;
  const t0 = performance.now();
  const inFlight: Promise<void>[] = [];
  for (const b of buckets(t.size, cap)) {
    const view = be.view(t, b.offset, [b.size]);
    const host = asFloat(await be.read(view), be.floatType);
    inFlight.push(world.allreduceSum(host).then(() => be.write(view, host)));
  }
  await Promise.all(inFlight);
  return { seconds: (performance.now() - t0) / 1000 };
}

/** Sum the model's gradients over the ranks (see {@linkcode allreduceTensor}). */
export function allreduceGradients(
  model: VlpModel,
  world: World,
  cap?: number,
): Promise<{ seconds: number }> {
  return allreduceTensor(model, world, model.grads, cap);
}

/** Every rank takes rank 0's parameters (DDP's initial broadcast). */
export async function broadcastParameters(
  model: VlpModel,
  world: World,
  cap = BUCKET_ELEMENTS,
): Promise<void> {
  if (world.size === 1) return;
  const be = model.backend;
  for (const b of buckets(model.table.total, cap)) {
    const view = be.view(model.params, b.offset, [b.size]);
    const host = asFloat(await be.read(view), be.floatType);
    await world.broadcast(host, 0);
    be.write(view, host);
  }
}

/**
 * FNV-1a over the 32-bit words of the parameters: equal when the weights are bitwise equal, and (almost
 * surely) different otherwise.
 */
export async function parameterHash(model: VlpModel): Promise<number> {
  const a = await model.backend.read(model.params);
  const words = new Int32Array(a.buffer, a.byteOffset, a.byteLength / 4);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return h >>> 0;
}

/** Raised when the ranks no longer hold identical weights. */
export class WeightsDivergedError extends Error {
  constructor(message: string, readonly step: number) {
    super(message);
    this.name = "WeightsDivergedError";
  }
}

/**
 * Compare the ranks' parameter hashes (one all-reduce of 2N numbers: rank r writes its hash's two 16-bit
 * halves in slots 2r, 2r + 1). Throws {@linkcode WeightsDivergedError} naming the optimiser step when they
 * differ.
 */
export async function checkWeightsAgree(
  model: VlpModel,
  world: World,
  where: { step: number; epoch: number },
): Promise<void> {
  if (world.size === 1) return;
  const h = await parameterHash(model);
  const slots = new Float64Array(2 * world.size);
  slots[2 * world.rank] = h >>> 16;
  slots[2 * world.rank + 1] = h & 0xffff;
  await world.allreduceSum(slots);
  const hashes = Array.from(
    { length: world.size },
    (_, r) => (slots[2 * r] * 65536 + slots[2 * r + 1]) >>> 0,
  );
  if (hashes.some((x) => x !== hashes[0])) {
    throw new WeightsDivergedError(
      `Training stopped: the ranks' weights differ after optimizer step ${where.step} (epoch ${where.epoch}); ` +
        `parameter hashes by rank: ${hashes.map((x) => x.toString(16).padStart(8, "0")).join(", ")}`,
      where.step,
    );
  }
}

/** A number summed over the ranks (one all-reduce; itself in a world of one). */
export async function sumOverRanks(world: World, x: number): Promise<number> {
  if (world.size === 1) return x;
  const b = Float64Array.of(x);
  await world.allreduceSum(b);
  return b[0];
}

/**
 * Throws unless every rank used the same dynamic loss scale (`--fp16`) in a round (`scales[r]`: rank r's).
 * They agree by construction (every rank decides each step's overflow from the same all-reduced count of
 * non-finite gradients); a difference means the ranks no longer train the same model.
 */
export function checkScalesAgree(scales: ArrayLike<number>, where: { epoch: number; batch: number }): void {
  for (let r = 1; r < scales.length; r++) {
    if (scales[r] !== scales[0]) {
      throw new RangeError(
        `Training stopped: the ranks' loss scales differ at epoch ${where.epoch}, batch ${where.batch}: ${
          Array.from(scales).join(", ")
        } by rank`,
      );
    }
  }
}

/**
 * One number per rank to every rank: rank r's `values` land in row r of an [N, values.length] array (an
 * all-reduce of a zero-padded array; exact, as every slot but one is zero).
 */
export async function gatherRows(world: World, values: ArrayLike<number>): Promise<Float64Array[]> {
  const k = values.length;
  const all = new Float64Array(world.size * k);
  all.set(values, world.rank * k);
  await world.allreduceSum(all);
  return Array.from({ length: world.size }, (_, r) => all.subarray(r * k, (r + 1) * k));
}
