/**
 * The training data loader: the original's `DataLoader(RandomSampler, batch_size, drop_last=False)` with its
 * per-access randomness made reproducible and its loading taken off the critical path.
 *
 * - Order: each epoch visits every example once in a random permutation (seeded by the run seed and the
 *   epoch), cut into batches of `batchSize`; the last batch may be smaller.
 * - Randomness: example k of epoch e gets its own RNG seeded from (seed, e, k), which draws the attention
 *   mode and every masking decision. A batch is therefore a pure function of (seed, epoch, batch index): a
 *   run resumed at an epoch boundary sees exactly the batches an uninterrupted run sees, whatever the number
 *   of workers.
 * - Prefetch: up to `prefetch` batches are requested ahead. With `numWorkers` ≥ 1 they are built in Workers
 *   (round robin), concurrently with the model's computation on the main thread; with 0 they are built on
 *   the main thread between steps (still ahead, in order).
 *
 * @example Usage
 * ```ts ignore
 * const loader = new BatchLoader({ ...builderConfig, batchSize: 64, seed: 42, numWorkers: 1 });
 * for await (const batch of loader.epoch(1)) model.forwardBackward(batch);
 * await loader.close();
 * ```
 *
 * @module
 */
import { Rng } from "@vlp/model";
import { BatchBuilder, type BatchRequest, type BuilderConfig, type HostBatch } from "./batch_builder.ts";
import { exampleCount } from "./examples.ts";
import type { ToWorker } from "./loader_worker.ts";

/** Options of {@linkcode BatchLoader}. */
export interface LoaderOptions extends BuilderConfig {
  /** examples per batch (the original's train_batch_size / gradient_accumulation_steps) */
  batchSize: number;
  /** run seed (`--seed`) */
  seed: number;
  /** loader Workers; 0 builds batches on the calling thread (default 1) */
  numWorkers?: number;
  /** batches requested ahead (default 2 per worker, at least 2) */
  prefetch?: number;
}

/** Mix integers into a 32-bit seed (SplitMix-style finaliser over each part). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = (h ^ (p >>> 0)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** The example order of an epoch: a permutation of 0..n−1 seeded by (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  const order = Array.from({ length: n }, (_, i) => i);
  new Rng(mixSeed(seed, epoch, 0x5a3)).shuffle(order);
  return Int32Array.from(order);
}

interface Pending {
  resolve: (b: HostBatch) => void;
  reject: (e: Error) => void;
}

/** Batches of a data set, epoch by epoch (see the module doc). */
export class BatchLoader {
  readonly options: LoaderOptions;
  readonly numWorkers: number;
  readonly prefetch: number;
  #inline: BatchBuilder | null = null;
  #workers: Worker[] = [];
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #rr = 0;
  #closed = false;
  #failure: Error | null = null;

  constructor(options: LoaderOptions) {
    if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
      throw new RangeError(
        `Cannot create loader: batch size ${options.batchSize} must be a positive integer`,
      );
    }
    if (exampleCount(options.examples) === 0) {
      throw new RangeError("Cannot create loader: the data set has no examples");
    }
    this.options = options;
    this.numWorkers = options.numWorkers ?? 1;
    this.prefetch = Math.max(2, options.prefetch ?? 2 * this.numWorkers);
  }

  /** Examples in the data set. */
  get size(): number {
    return exampleCount(this.options.examples);
  }

  /** ⌈N / batchSize⌉: the original's `len(train_dataloader)`. */
  get batchesPerEpoch(): number {
    return Math.ceil(this.size / this.options.batchSize);
  }

  /** The request of batch `index` of `epoch` (which examples, which seeds). */
  request(
    epoch: number,
    index: number,
    order: Int32Array = epochOrder(this.size, this.options.seed, epoch),
  ): BatchRequest {
    const bs = this.options.batchSize, start = index * bs, end = Math.min(start + bs, order.length);
    if (!(index >= 0 && start < order.length)) {
      throw new RangeError(`Batch ${index} does not exist (${this.batchesPerEpoch} per epoch)`);
    }
    const seeds = new Uint32Array(end - start);
    for (let k = start; k < end; k++) seeds[k - start] = mixSeed(this.options.seed, epoch, k);
    return { index, examples: order.slice(start, end), seeds };
  }

  /** The batches of an epoch from batch `from` on, built ahead of use. */
  epoch(epoch: number, from = 0): AsyncGenerator<HostBatch> {
    const order = epochOrder(this.size, this.options.seed, epoch);
    const requests = Array.from(
      { length: this.batchesPerEpoch - from },
      (_, i) => this.request(epoch, from + i, order),
    );
    return this.stream(requests);
  }

  /**
   * Every example once, in data-set order (evaluation), built ahead of use; with `shard`, only the batches
   * `shard.rank`, `shard.rank + shard.size`, … (a rank's share).
   */
  inOrder(shard: { rank: number; size: number } = { rank: 0, size: 1 }): AsyncGenerator<HostBatch> {
    const order = Int32Array.from({ length: this.size }, (_, i) => i);
    const requests = [];
    for (let i = shard.rank; i < this.batchesPerEpoch; i += shard.size) {
      requests.push(this.request(0, i, order));
    }
    return this.stream(requests);
  }

  /** Build the given batches, up to `prefetch` ahead, and yield them in order. */
  async *stream(requests: readonly BatchRequest[]): AsyncGenerator<HostBatch> {
    const queue: Promise<HostBatch>[] = [];
    let next = 0;
    const fill = () => {
      while (queue.length < this.prefetch && next < requests.length) {
        const p = this.#build(requests[next++]);
        p.catch(() => {}); // observed when awaited below
        queue.push(p);
      }
    };
    try {
      fill();
      while (queue.length > 0) {
        const batch = await queue.shift()!;
        fill();
        yield batch;
      }
    } finally {
      // an abandoned stream: let outstanding builds finish quietly
      for (const p of queue) p.catch(() => {});
    }
  }

  /** Build one batch now (on the calling thread or in a Worker). */
  build(req: BatchRequest): Promise<HostBatch> {
    return this.#build(req);
  }

  #build(req: BatchRequest): Promise<HostBatch> {
    if (this.#closed) return Promise.reject(new Error("Cannot build a batch: the loader is closed"));
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.numWorkers === 0) {
      this.#inline ??= new BatchBuilder(this.options);
      return this.#inline.build(req);
    }
    if (this.#workers.length === 0) this.#startWorkers();
    const id = this.#nextId++;
    const worker = this.#workers[this.#rr++ % this.#workers.length];
    return new Promise<HostBatch>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ type: "build", id, request: req } satisfies ToWorker);
    });
  }

  #startWorkers(): void {
    const config: BuilderConfig = {
      examples: this.options.examples,
      regions: this.options.regions,
      pipeline: this.options.pipeline,
      s2sProb: this.options.s2sProb,
      answerWords: this.options.answerWords,
    };
    for (let i = 0; i < this.numWorkers; i++) {
      const w = new Worker(new URL("./loader_worker.ts", import.meta.url).href, { type: "module" });
      w.onmessage = (e: MessageEvent) => {
        const msg = e.data as { type: string; id: number; batch?: HostBatch; message?: string };
        if (msg.type === "error" && msg.id === -1) {
          this.#fail(new Error(`Loader worker failed to start: ${msg.message}`));
          return;
        }
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        if (msg.type === "batch") p.resolve(msg.batch!);
        else p.reject(new Error(msg.message));
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.#fail(new Error(`Loader worker crashed: ${e.message}`));
      };
      w.postMessage({ type: "init", config } satisfies ToWorker);
      this.#workers.push(w);
    }
  }

  #fail(err: Error): void {
    this.#failure = err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /** Stop the workers and close the feature files. */
  close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    for (const p of this.#pending.values()) p.reject(new Error("loader closed"));
    this.#pending.clear();
    this.#inline?.close();
    this.#inline = null;
    return Promise.resolve();
  }
}
