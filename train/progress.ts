/**
 * A progress bar for training on stderr: epoch, batches done, examples/s, the running loss and the time
 * left. On a terminal the line is redrawn in place (at most 10 times a second); otherwise (logs, CI) a full
 * line is printed at most every `intervalS` seconds and at the end of each epoch.
 *
 * @example Usage
 * ```ts ignore
 * const bar = new ProgressBar({ epochs: 30, batchesPerEpoch: 500 });
 * bar.update({ epoch: 1, batch: 10, examples: 640, loss: 3.2 });
 * bar.endEpoch("epoch 1: loss 3.1");
 * ```
 *
 * @module
 */

/** Options of {@linkcode ProgressBar}. */
export interface ProgressOptions {
  epochs: number;
  batchesPerEpoch: number;
  /** first epoch of this run (resumed runs start later; default 1) */
  startEpoch?: number;
  /** where to write (default stderr) */
  write?: (text: string) => void;
  /** redraw in place (default: whether stderr is a terminal) */
  tty?: boolean;
  /** seconds between lines when not a terminal (default 10) */
  intervalS?: number;
  /** clock in ms (tests) */
  now?: () => number;
}

/** One update of {@linkcode ProgressBar}. */
export interface ProgressUpdate {
  epoch: number;
  /** batches of this epoch done */
  batch: number;
  /** examples done in this run */
  examples: number;
  /** loss of the last batch */
  loss: number;
}

/** Seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** The training progress bar (see the module doc). */
export class ProgressBar {
  readonly #o: Required<ProgressOptions>;
  readonly #start: number;
  #last = -Infinity;
  #smoothLoss = NaN;
  #doneBatches = 0;
  #line = "";

  constructor(opts: ProgressOptions) {
    const enc = new TextEncoder();
    this.#o = {
      startEpoch: 1,
      write: (t) => Deno.stderr.writeSync(enc.encode(t)),
      tty: Deno.stderr.isTerminal(),
      intervalS: 10,
      now: () => performance.now(),
      ...opts,
    };
    this.#start = this.#o.now();
  }

  /** Record a finished batch and redraw if it is time. */
  update(u: ProgressUpdate): void {
    this.#doneBatches++;
    this.#smoothLoss = Number.isNaN(this.#smoothLoss) ? u.loss : 0.9 * this.#smoothLoss + 0.1 * u.loss;
    const now = this.#o.now();
    const gap = this.#o.tty ? 100 : this.#o.intervalS * 1000;
    if (now - this.#last < gap && u.batch < this.#o.batchesPerEpoch) return;
    this.#last = now;
    const elapsed = (now - this.#start) / 1000;
    const o = this.#o;
    const total = (o.epochs - o.startEpoch + 1) * o.batchesPerEpoch;
    const eta = (elapsed / this.#doneBatches) * (total - this.#doneBatches);
    const width = 24, filled = Math.round((u.batch / o.batchesPerEpoch) * width);
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    this.#line = `epoch ${u.epoch}/${o.epochs} [${bar}] ${u.batch}/${o.batchesPerEpoch}  loss ${
      this.#smoothLoss.toFixed(4)
    }  ${(u.examples / Math.max(elapsed, 1e-9)).toFixed(1)} ex/s  ETA ${formatDuration(eta)}`;
    o.write(o.tty ? `\r${this.#line}\x1b[K` : `${this.#line}\n`);
  }

  /** End the epoch's line and print a summary line. */
  endEpoch(summary: string): void {
    this.#o.write(this.#o.tty && this.#line ? `\n${summary}\n` : `${summary}\n`);
    this.#line = "";
  }

  /** A message between bar updates (ends the current line first). */
  message(text: string): void {
    this.#o.write(this.#o.tty && this.#line ? `\n${text}\n` : `${text}\n`);
    this.#line = "";
  }
}
