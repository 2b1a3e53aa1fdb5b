/**
 * The boundary between the search loops and the model: a {@linkcode StepScorer} gives the logits of the
 * `[MASK]` of every live sequence, one step at a time. {@linkcode ModelScorer} runs `@vlp/model`'s
 * `IncrementalDecoder` (key/value cache); tests drive the same loops with fake scorers.
 *
 * @module
 */
import type { IncrementalDecoder, Numbers, StartInputs, Tensor } from "@vlp/model";
import type { FloatRows } from "./scores.ts";

/** What the search loops need from a model (sequence n = b·W + w after `expand(W)`). */
export interface StepScorer {
  /** V */
  readonly vocabSize: number;
  /** B */
  readonly images: number;
  /** logits calls of a full decode: `start()` + maxSteps − 1 `step()`s (VLP: max_tgt_length = 20) */
  readonly maxSteps: number;
  /** The first step: [B, V] logits of the `[MASK]` after the prompt. */
  start(): Promise<FloatRows>;
  /** Each image becomes `width` sequences (only right after `start()`). */
  expand(width: number): void;
  /** Append one token per sequence where the `[MASK]` was, and a new `[MASK]`; [N, V] logits of it. */
  step(tokens: Int32Array): Promise<FloatRows>;
  /** Sequence n continues sequence src[n] (same image). */
  reorder(src: Int32Array): void;
}

/**
 * A {@linkcode StepScorer} over an `IncrementalDecoder` (logits are read back to the host each step). The
 * inputs are `IncrementalDecoder.start`'s; `dropoutRng` there runs the decode in train mode (dropout on).
 */
export class ModelScorer implements StepScorer {
  readonly vocabSize: number;
  readonly images: number;
  readonly maxSteps: number;
  readonly #dec: IncrementalDecoder;
  readonly #inputs: StartInputs;

  constructor(decoder: IncrementalDecoder, inputs: StartInputs) {
    const { R, F } = decoder.model.dims;
    this.#dec = decoder;
    this.#inputs = inputs;
    this.vocabSize = decoder.model.dims.V;
    this.images = inputs.regionFeats.length / (R * F);
    this.maxSteps = decoder.maxSteps;
  }

  async start(): Promise<FloatRows> {
    return await this.#read(this.#dec.start(this.#inputs));
  }

  expand(width: number): void {
    this.#dec.expand(width);
  }

  async step(tokens: Int32Array): Promise<FloatRows> {
    return await this.#read(this.#dec.step(tokens));
  }

  reorder(src: Numbers): void {
    this.#dec.reorder(src);
  }

  async #read(t: Tensor): Promise<FloatRows> {
    const host = await this.#dec.model.backend.read(t);
    if (host instanceof Int32Array) {
      throw new TypeError("Cannot read logits: the backend returned int32 data");
    }
    return host;
  }
}
