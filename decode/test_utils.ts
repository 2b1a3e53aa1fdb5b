/**
 * Test helpers: a fake {@linkcode StepScorer} whose logits are a function of (image, history so far), so the
 * search loops can be checked against hand-computed answers, plus a wrapper that biases a scorer's logits.
 *
 * @module
 */
import type { StepScorer } from "./scorer.ts";

/** Logits of the next word of image `image` after the words `history`. */
export type LogitFn = (
  image: number,
  history: readonly number[],
) => ArrayLike<number> | Promise<ArrayLike<number>>;

/** A scorer over a {@linkcode LogitFn}; tracks every sequence's history and counts calls. */
export class FakeScorer implements StepScorer {
  readonly vocabSize: number;
  readonly images: number;
  readonly maxSteps: number;
  /** history of each live sequence (sequence n = b·W + w) */
  histories: number[][] = [];
  width = 1;
  calls = 0;
  reorders = 0;
  readonly #fn: LogitFn;

  constructor(images: number, vocabSize: number, maxSteps: number, fn: LogitFn) {
    this.images = images;
    this.vocabSize = vocabSize;
    this.maxSteps = maxSteps;
    this.#fn = fn;
  }

  start(): Promise<Float64Array> {
    this.histories = Array.from({ length: this.images }, () => []);
    this.width = 1;
    this.calls = 1;
    return this.#logits();
  }

  expand(width: number): void {
    this.histories = this.histories.flatMap((h) => Array.from({ length: width }, () => [...h]));
    this.width = width;
  }

  step(tokens: Int32Array): Promise<Float64Array> {
    if (tokens.length !== this.histories.length) throw new TypeError("FakeScorer: wrong number of tokens");
    if (this.calls >= this.maxSteps) throw new RangeError("FakeScorer: more steps than maxSteps");
    this.histories = this.histories.map((h, n) => [...h, tokens[n]]);
    this.calls++;
    return this.#logits();
  }

  reorder(src: ArrayLike<number>): void {
    const old = this.histories;
    this.histories = Array.from(src, (s, n) => {
      if (Math.floor(s / this.width) !== Math.floor(n / this.width)) {
        throw new RangeError("reorder across images");
      }
      return [...old[s]];
    });
    this.reorders++;
  }

  async #logits(): Promise<Float64Array> {
    const V = this.vocabSize, out = new Float64Array(this.histories.length * V);
    for (let n = 0; n < this.histories.length; n++) {
      out.set(await this.#fn(Math.floor(n / this.width), this.histories[n]), n * V);
    }
    return out;
  }
}

/** Logits whose softmax is exactly `probs` (log of each; zeros become −1e9). */
export function logitsOf(probs: readonly number[]): Float64Array {
  return Float64Array.from(probs, (p) => (p > 0 ? Math.log(p) : -1e9));
}

/** A scorer adding `bias(step, n, V)` (a [V] vector or null) to another scorer's logits. */
export class BiasedScorer implements StepScorer {
  readonly vocabSize: number;
  readonly images: number;
  readonly maxSteps: number;
  calls = 0;
  readonly #inner: StepScorer;
  readonly #bias: (step: number, V: number) => Float64Array | null;

  constructor(inner: StepScorer, bias: (step: number, V: number) => Float64Array | null) {
    this.#inner = inner;
    this.#bias = bias;
    this.vocabSize = inner.vocabSize;
    this.images = inner.images;
    this.maxSteps = inner.maxSteps;
  }

  async start(): Promise<Float64Array> {
    this.calls = 0;
    return this.#add(await this.#inner.start());
  }

  expand(width: number): void {
    this.#inner.expand(width);
  }

  async step(tokens: Int32Array): Promise<Float64Array> {
    return this.#add(await this.#inner.step(tokens));
  }

  reorder(src: Int32Array): void {
    this.#inner.reorder(src);
  }

  #add(x: ArrayLike<number>): Float64Array {
    const V = this.vocabSize, out = Float64Array.from(x);
    const bias = this.#bias(this.calls++, V);
    if (bias) { for (let i = 0; i < out.length; i++) out[i] += bias[i % V]; }
    return out;
  }
}
