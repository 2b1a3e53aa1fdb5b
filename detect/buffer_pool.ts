/**
 * Reused host buffers of the CPU path. A fresh `Float32Array` of a feature map's size costs more to touch the
 * first time (the operating system maps and zeroes its pages) than a GEMM costs to fill it, and the body
 * makes hundreds of maps of a handful of sizes per image; so the maps the detector frees go back to a pool
 * and the next map of the same length takes one from it, and the convolutions' scratch arrays (padded input,
 * partial outputs, im2col bands) grow once and stay.
 *
 * A buffer from the pool holds old values: whoever takes one writes every element before reading any.
 *
 * @module
 */

/** Freed arrays by length, at most `limit` floats in all (the rest are left to the garbage collector). */
export class BufferPool {
  readonly #free = new Map<number, Float32Array[]>();
  #floats = 0;

  /** `limit`: floats kept at most (default 2^28, 1 GiB). */
  constructor(readonly limit = 1 << 28) {}

  /** An array of `n` floats: a freed one of that length if any (old values), else a new one (zeros). */
  take(n: number): Float32Array {
    const a = this.#free.get(n)?.pop();
    if (!a) return new Float32Array(n);
    this.#floats -= n;
    return a;
  }

  /** Give back an array no one reads any more. */
  give(a: Float32Array): void {
    if (a.length === 0 || this.#floats + a.length > this.limit) return;
    let l = this.#free.get(a.length);
    if (!l) this.#free.set(a.length, l = []);
    l.push(a);
    this.#floats += a.length;
  }

  /** Floats held now. */
  get floats(): number {
    return this.#floats;
  }
}

/** Named scratch arrays that only grow: `get(name, n)` is a view of `n` floats (old values). */
export class Scratch {
  readonly #bufs = new Map<string, Float32Array>();

  get(name: string, n: number): Float32Array {
    let b = this.#bufs.get(name);
    if (!b || b.length < n) {
      b = new Float32Array(n);
      this.#bufs.set(name, b);
    }
    return b.subarray(0, n);
  }
}
