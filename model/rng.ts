/**
 * Seeded pseudo-random numbers for everything in the project that draws: parameter init, dropout masks,
 * masked-LM corruption, shuffling, sampling, test inputs.
 *
 * Generator: xoshiro128** (32-bit state words, fast in JavaScript), seeded through SplitMix32 so that any
 * integer seed gives a well-mixed state. The state is four uint32 words and can be saved and restored
 * exactly, which is what makes training runs resumable bit for bit.
 *
 * @example Usage
 * ```ts
 * import { Rng } from "@vlp/model/rng";
 * import assert from "node:assert/strict";
 * const a = new Rng(42), b = new Rng(42);
 * assert.equal(a.float(), b.float());
 * const saved = a.getState();
 * const x = a.nextU32();
 * a.setState(saved);
 * assert.equal(a.nextU32(), x);
 * ```
 *
 * @module
 */

/**
 * Salts that derive independent generators from one seed (`new Rng(seed ^ salt)`): one per stream, so that
 * changing how much one stream draws never shifts another. Each is an arbitrary distinct 16-bit constant.
 */
export const SEED_SALTS: Readonly<{ dropout: number; scstSample: number; scstDropout: number }> = Object
  .freeze({
    /** the model's dropout seeds (`VlpModel.rng`, from the init seed) */
    dropout: 0x5eed,
    /** SCST's sampling of captions (from `--seed`) */
    scstSample: 0x5c57,
    /** SCST's dropout while sampling (from `--seed`) */
    scstDropout: 0xd50f,
  });

/** Four uint32 words: the complete state of an {@linkcode Rng}. */
export type RngState = [number, number, number, number];

function splitMix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A seeded xoshiro128** generator with uniform, normal, integer and shuffle helpers. */
export class Rng {
  #s = new Uint32Array(4);
  #spareNormal: number | null = null;

  /** Create a generator from an integer seed (only the low 32 bits are used). */
  constructor(seed = 0) {
    const sm = splitMix32(seed);
    for (let i = 0; i < 4; i++) this.#s[i] = sm();
    if ((this.#s[0]! | this.#s[1]! | this.#s[2]! | this.#s[3]!) === 0) this.#s[0] = 1;
  }

  /** Next uniform uint32. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n >= 1) || n > 0x100000000 || !Number.isInteger(n)) {
      throw new RangeError(`Cannot draw an integer in [0, n): n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return x % n;
  }

  /** Standard normal sample (Box-Muller, the spare value is cached). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const v = this.#spareNormal;
      this.#spareNormal = null;
      return v;
    }
    let u = this.float();
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** Fill an array with N(mean, std²) samples. */
  fillNormal<A extends Float32Array | Float64Array>(out: A, mean = 0, std = 1): A {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fill an array with U[lo, hi) samples. */
  fillUniform<A extends Float32Array | Float64Array>(out: A, lo = 0, hi = 1): A {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.float();
    return out;
  }

  /** The complete state (the cached normal spare is dropped on purpose: call between whole draws). */
  getState(): RngState {
    return [this.#s[0]!, this.#s[1]!, this.#s[2]!, this.#s[3]!];
  }

  /** Restore a state from {@linkcode Rng.getState}. */
  setState(state: RngState): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new TypeError(`Cannot restore RNG state: expected 4 uint32 words, got ${JSON.stringify(state)}`);
    }
    this.#s.set(state);
    this.#spareNormal = null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
