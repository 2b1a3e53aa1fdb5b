/**
 * A progress bar on stderr with a rate and an ETA: redrawn in place on a terminal (at most every 100 ms),
 * one plain line every few seconds otherwise (logs, CI).
 *
 * @example Usage
 * ```ts ignore
 * const bar = new Progress(5000, "images");
 * bar.tick(8); // after each batch
 * bar.done();
 * ```
 *
 * @module
 */

/** Seconds as m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(r).padStart(2, "0")}`;
}

/** A stderr progress bar over `total` units. */
export class Progress {
  readonly total: number;
  readonly unit: string;
  count = 0;
  readonly #t0 = performance.now();
  #last = 0;
  #final = false;
  readonly #tty: boolean;
  readonly #write: (s: string) => void;

  constructor(total: number, unit: string, opts: { tty?: boolean; write?: (s: string) => void } = {}) {
    this.total = total;
    this.unit = unit;
    const enc = new TextEncoder();
    this.#write = opts.write ?? ((s) => Deno.stderr.writeSync(enc.encode(s)));
    this.#tty = opts.tty ?? Deno.stderr.isTerminal();
  }

  /** Seconds since the start. */
  get elapsed(): number {
    return (performance.now() - this.#t0) / 1000;
  }

  /** Units per second so far. */
  get rate(): number {
    return this.count / Math.max(this.elapsed, 1e-9);
  }

  /** The current line (without control characters). */
  line(): string {
    const width = 30, frac = this.total > 0 ? Math.min(1, this.count / this.total) : 1;
    const full = Math.round(frac * width);
    const eta = this.rate > 0 ? (this.total - this.count) / this.rate : Infinity;
    return `[${"#".repeat(full)}${"-".repeat(width - full)}] ${this.count}/${this.total} ${this.unit}  ` +
      `${this.rate.toFixed(2)} ${this.unit}/s  elapsed ${formatDuration(this.elapsed)}  ETA ${
        formatDuration(eta)
      }`;
  }

  /** Count `n` more units done. */
  tick(n = 1): void {
    this.count += n;
    const now = performance.now();
    if (now - this.#last < (this.#tty ? 100 : 5000) && this.count < this.total) return;
    this.#last = now;
    this.#final = this.count >= this.total;
    this.#write(this.#tty ? `\r${this.line()}\x1b[K` : `${this.line()}\n`);
  }

  /** Finish the bar (a final line). */
  done(): void {
    if (this.#tty) this.#write(`\r${this.line()}\x1b[K\n`);
    else if (!this.#final) this.#write(`${this.line()}\n`);
  }
}
