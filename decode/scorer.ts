/**
 * The boundary between the search loops and the model: a {@linkcode StepScorer} gives the logits of the
 * `[MASK]` of every live sequence, one step at a time. {@linkcode ModelScorer} runs any `DecodingEngine` of
 * `@vlp/model`: its `IncrementalDecoder` (key/value cache) or ONNX Runtime's `OnnxDecoder` (`@vlp/onnx`);
 * tests drive the same loops with fake scorers.
 *
 * @module
 */
import type { DecodingEngine, Numbers, StartInputs, TopRows } from "@vlp/model";
import type { FloatRows } from "./scores.ts";

export type { TopRows };

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
  /** {@linkcode StepScorer.start} with only the top k of each row back (optional: a device-side top-k). */
  startTop?(k: number): Promise<TopRows>;
  /** {@linkcode StepScorer.step} with only the top k of each row back (optional). */
  stepTop?(tokens: Int32Array, k: number): Promise<TopRows>;
}

/**
 * A {@linkcode StepScorer} over a `DecodingEngine` (logits come back to the host each step). The inputs are
 * the engine's start inputs; `dropoutRng` there runs our `IncrementalDecoder` in train mode (dropout on).
 */
export class ModelScorer implements StepScorer {
  readonly vocabSize: number;
  readonly images: number;
  readonly maxSteps: number;
  readonly #dec: DecodingEngine;
  readonly #inputs: StartInputs;

  constructor(decoder: DecodingEngine, inputs: StartInputs) {
    this.#dec = decoder;
    this.#inputs = inputs;
    this.vocabSize = decoder.vocabSize;
    this.images = inputs.inputIds.length / decoder.promptLength;
    this.maxSteps = decoder.maxSteps;
  }

  start(): Promise<FloatRows> {
    return this.#dec.startLogits(this.#inputs);
  }

  expand(width: number): void {
    this.#dec.expand(width);
  }

  step(tokens: Int32Array): Promise<FloatRows> {
    return this.#dec.stepLogits(tokens);
  }

  reorder(src: Numbers): void {
    this.#dec.reorder(src);
  }

  /** Only where the engine has `startTop`/`stepTop` (else `undefined`: the search reads whole rows). */
  get startTop(): ((k: number) => Promise<TopRows>) | undefined {
    const dec = this.#dec;
    return dec.startTop ? (k) => dec.startTop!(this.#inputs, k) : undefined;
  }

  get stepTop(): ((tokens: Int32Array, k: number) => Promise<TopRows>) | undefined {
    const dec = this.#dec;
    return dec.stepTop ? (tokens, k) => dec.stepTop!(tokens, k) : undefined;
  }
}
