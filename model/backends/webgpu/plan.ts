/**
 * What the WebGPU runtime records, counted: dispatches (per kernel), the bytes their bindings span (read-only
 * bindings as read, writable ones as written), buffer clears and copies, queue writes and reads. The
 * counters run in every runtime; a runtime made with `plan: true` only counts (no GPU buffer is created and
 * nothing is submitted), so that the kernel plan of a large step (BERT-base, batch 64) can be taken on any
 * adapter, the software one included, without the memory or the time to run it (`bench/gpu_bench.ts
 * --plan`).
 *
 * The byte figures are the ranges bound, not the bytes a kernel touches: a kernel that reads a row of a
 * bound range counts the whole range. For the element-wise, row-wise and GEMM kernels of the backend, every
 * bound element is read or written at least once, so the figures are the step's memory traffic up to the
 * re-reads of GEMM tiles (which caches serve). The one exception, `sum_chunks_group` (the held-back
 * gradient sums, ops/grad_sums.ts), binds a window of a flat gradient table and touches only its
 * destinations: it reports the bytes it touches instead.
 *
 * @module
 */

/** Counters of one runtime (or the difference of two snapshots). */
export interface PlanFigures {
  dispatches: number;
  /** bytes of read-only bindings */
  bytesRead: number;
  /** bytes of writable bindings */
  bytesWritten: number;
  /** `clearBuffer` calls (pooled buffers reused zero-filled) and their bytes */
  clears: number;
  clearBytes: number;
  /** buffer-to-buffer copies and their bytes */
  copies: number;
  copyBytes: number;
  /** queue writes (host → GPU) and their bytes */
  writes: number;
  writeBytes: number;
  /** host reads (GPU → host) */
  reads: number;
  /** dispatches per kernel name */
  kernels: Record<string, number>;
}

/** An empty set of counters. */
export function emptyFigures(): PlanFigures {
  return {
    dispatches: 0,
    bytesRead: 0,
    bytesWritten: 0,
    clears: 0,
    clearBytes: 0,
    copies: 0,
    copyBytes: 0,
    writes: 0,
    writeBytes: 0,
    reads: 0,
    kernels: {},
  };
}

/** The counters of a runtime. */
export class PlanCounter {
  #f: PlanFigures = emptyFigures();

  /** One dispatch of `kernel` with its bindings' byte spans. */
  dispatch(kernel: string, read: number, written: number): void {
    const f = this.#f;
    f.dispatches++;
    f.bytesRead += read;
    f.bytesWritten += written;
    f.kernels[kernel] = (f.kernels[kernel] ?? 0) + 1;
  }

  clear(bytes: number): void {
    this.#f.clears++;
    this.#f.clearBytes += bytes;
  }

  copy(bytes: number): void {
    this.#f.copies++;
    this.#f.copyBytes += bytes;
  }

  write(bytes: number): void {
    this.#f.writes++;
    this.#f.writeBytes += bytes;
  }

  read(): void {
    this.#f.reads++;
  }

  /** A copy of the counters so far. */
  snapshot(): PlanFigures {
    return { ...this.#f, kernels: { ...this.#f.kernels } };
  }
}

/** The counters of `b` minus those of `a` (b taken after a), divided by `per` (e.g. steps). */
export function figuresBetween(a: PlanFigures, b: PlanFigures, per = 1): PlanFigures {
  const out = emptyFigures();
  for (const key of Object.keys(out) as (keyof PlanFigures)[]) {
    if (key === "kernels") continue;
    out[key] = ((b[key] as number) - (a[key] as number)) / per;
  }
  for (const [name, n] of Object.entries(b.kernels)) {
    const d = (n - (a.kernels[name] ?? 0)) / per;
    if (d !== 0) out.kernels[name] = d;
  }
  return out;
}
