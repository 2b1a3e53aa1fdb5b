/**
 * The engine-independent part of incremental decoding (spec §5.2): the {@linkcode DecodingEngine}
 * interface that greedy and beam search are written against, and {@linkcode DecodeSchedule}, the host-side
 * bookkeeping every engine shares (argument checks, the position of the current `[MASK]`, images × width,
 * and each call's token ids, segment ids and 0/1 attention mask). Engines differ only in how they compute
 * the logits: {@linkcode IncrementalDecoder} on our backends, `OnnxDecoder` (`@vlp/onnx`) on ONNX Runtime.
 *
 * A decode is `startLogits()` (the prompt [CLS], R regions, [SEP] at positions 0..A−1 plus a `[MASK]` at A),
 * optionally `expand(W)` (n = b·W + w), then `stepLogits(tokens)` up to maxSteps − 1 times (each sequence's
 * token replaces its `[MASK]` and a new `[MASK]` is appended), with `reorder(src)` for beam back-pointers.
 *
 * @module
 */
import type { Numbers } from "./batch.ts";
import type { Rng } from "./rng.ts";
import { MAX_TGT_LENGTH, SPECIAL_IDS } from "./defaults.ts";

/** Inputs of a decode's first call (`start` / `startLogits`). */
export interface StartInputs {
  /** [B, R, F] */
  regionFeats: Numbers;
  /** [B, R, G] */
  visPe: Numbers;
  /** [B, A] prompt ids ([CLS], R × [UNK], [SEP]) */
  inputIds: Numbers;
  /** [B, maxLength] segment ids of every position (VLP: 4 for the prompt, 5 after) */
  segmentIds: Numbers;
  /** [B, maxLength, maxLength] 0/1 mask to slice per step (default: the decoder-time mask) */
  attentionMask?: Numbers;
  /** id appended as the `[MASK]` (default 103) */
  maskId?: number;
  /** Train mode (`IncrementalDecoder` only): dropout at every site, seeds drawn from this generator. */
  dropoutRng?: Rng;
}

/**
 * What greedy and beam search need from an incremental decoder, whatever computes it. Logits come back as
 * host arrays; search code written against this interface runs unchanged on every engine.
 */
export interface DecodingEngine {
  /** V: logits per row. */
  readonly vocabSize: number;
  /** A = R + 2 prompt positions. */
  readonly promptLength: number;
  /** Positions of a finished sequence, prompt included. */
  readonly maxLength: number;
  readonly maxImages: number;
  readonly maxWidth: number;
  /** Logits calls of a full decode: start plus maxSteps − 1 steps (VLP: 20). */
  readonly maxSteps: number;
  /** Current number of sequences (images × width). */
  readonly numSequences: number;
  /** Sequences per image. */
  readonly width: number;
  /** Position of the `[MASK]` whose logits the last call returned (−1 before start). */
  readonly position: number;
  /** Run the prompt of B images; the [B, V] logits of the `[MASK]` at A. */
  startLogits(inp: StartInputs): Promise<Float32Array | Float64Array>;
  /** Make each image W sequences (n = b·W + w) after start. */
  expand(width: number): void;
  /** Append one token per sequence and a new `[MASK]`; the [N, V] logits of that `[MASK]`. */
  stepLogits(tokens: Numbers): Promise<Float32Array | Float64Array>;
  /** Sequence n takes the state of sequence src[n] (same image: ⌊src[n]/W⌋ = ⌊n/W⌋). */
  reorder(src: Numbers): void;
  /**
   * {@linkcode DecodingEngine.startLogits} with only the top k of each row read back ([B, k], `topkRows`
   * on the engine's device; absent where the engine has no such step).
   */
  startTop?(inp: StartInputs, k: number): Promise<TopRows>;
  /** {@linkcode DecodingEngine.stepLogits} with only the top k of each row read back ([N, k]). */
  stepTop?(tokens: Numbers, k: number): Promise<TopRows>;
}

/** The k largest logits of each row and their word ids (descending, ties to the lower id). */
export interface TopRows {
  /** [rows, k] */
  values: Float32Array | Float64Array;
  /** [rows, k] */
  indices: Int32Array;
  /** [rows, 2]: each row's max and Σ exp(x − max) (its log-softmax: x − max − log Σ) */
  stats: Float32Array | Float64Array;
}

/** Sizes a {@linkcode DecodeSchedule} checks against. */
export interface ScheduleDims {
  /** regions */
  R: number;
  /** region feature size */
  F: number;
  /** region geometry + class size */
  G: number;
  /** rows of the position table (maxLength may not exceed it) */
  maxPositions: number;
}

/** Token ids, segment ids and 0/1 mask of one call: Lq new positions from `start` for N sequences. */
export interface StepInputs {
  /** position of the first new slot (0 on the first call) */
  start: number;
  /** new positions per sequence */
  Lq: number;
  /** key columns: start + Lq */
  Lk: number;
  /** sequences this call */
  N: number;
  /** sequences per image this call */
  W: number;
  /** [N, Lq] */
  ids: Int32Array;
  /** [N, Lq] */
  segmentIds: Int32Array;
  /** [N, Lq, Lk] 0/1: rows start..start+Lq−1, columns 0..Lk−1 of each image's mask */
  mask: Float32Array;
}

/** Host-side state and checks of an incremental decode (see the module doc). */
export class DecodeSchedule {
  /** A = R + 2 prompt positions. */
  readonly promptLength: number;
  readonly maxLength: number;
  readonly maxImages: number;
  readonly maxWidth: number;
  readonly #d: ScheduleDims;
  #images = 0;
  #width = 1;
  #pos = -1; // position of the current [MASK]; -1 before start
  #segHost: Int32Array = new Int32Array(0); // [B, maxLength]
  #maskHost: Float32Array | null = null; // [B, maxLength, maxLength] 0/1
  #maskId = SPECIAL_IDS.mask;

  constructor(d: ScheduleDims, opts: { maxImages: number; maxWidth?: number; maxLength?: number }) {
    this.#d = d;
    this.promptLength = d.R + 2;
    this.maxLength = opts.maxLength ?? this.promptLength + MAX_TGT_LENGTH;
    this.maxImages = opts.maxImages;
    this.maxWidth = opts.maxWidth ?? 1;
    const A = this.promptLength;
    if (
      !(Number.isInteger(this.maxImages) && this.maxImages >= 1 && Number.isInteger(this.maxWidth) &&
        this.maxWidth >= 1)
    ) {
      throw new RangeError(
        `Cannot create decoder: maxImages ${this.maxImages} and maxWidth ${this.maxWidth} must be ≥ 1`,
      );
    }
    if (this.maxLength <= A || this.maxLength > d.maxPositions) {
      throw new RangeError(
        `Cannot create decoder: maxLength ${this.maxLength} must be in (${A}, ${d.maxPositions}] (prompt R + 2 = ${A})`,
      );
    }
  }

  /** Images of the current decode. */
  get images(): number {
    return this.#images;
  }

  /** Sequences per image. */
  get width(): number {
    return this.#width;
  }

  /** Current number of sequences (images × width). */
  get numSequences(): number {
    return this.#images * this.#width;
  }

  /** Position of the `[MASK]` whose logits the last call returned (−1 before start). */
  get position(): number {
    return this.#pos;
  }

  /** Logits calls of a full decode: start plus maxSteps − 1 steps. */
  get maxSteps(): number {
    return this.maxLength - this.promptLength;
  }

  /** Check and record the inputs of a first call; returns its inputs (positions 0..A, the `[MASK]` at A). */
  start(inp: StartInputs): StepInputs {
    const { R, F, G } = this.#d;
    const A = this.promptLength, L = this.maxLength;
    const B = inp.regionFeats.length / (R * F);
    if (!Number.isInteger(B) || B < 1 || B > this.maxImages) {
      throw new RangeError(
        `Cannot start decoding: regionFeats has ${inp.regionFeats.length} elements, B must be 1..${this.maxImages} (R·F = ${
          R * F
        })`,
      );
    }
    const need = (name: string, n: number, a: Numbers | undefined) => {
      if (!a || a.length !== n) {
        throw new TypeError(`Cannot start decoding: "${name}" has ${a?.length} elements, expected ${n}`);
      }
    };
    need("visPe", B * R * G, inp.visPe);
    need("inputIds", B * A, inp.inputIds);
    need("segmentIds", B * L, inp.segmentIds);
    if (inp.attentionMask) need("attentionMask", B * L * L, inp.attentionMask);
    this.#images = B;
    this.#width = 1;
    this.#segHost = Int32Array.from(inp.segmentIds);
    this.#maskHost = inp.attentionMask ? Float32Array.from(inp.attentionMask) : null;
    this.#maskId = inp.maskId ?? SPECIAL_IDS.mask;
    const ids = new Int32Array(B * (A + 1));
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < A; l++) ids[b * (A + 1) + l] = inp.inputIds[b * A + l];
      ids[b * (A + 1) + A] = this.#maskId;
    }
    this.#pos = A;
    return this.#inputs(ids, 0, A + 1);
  }

  /** Check and record an expansion to `width` sequences per image. */
  expand(width: number): void {
    if (this.#pos < 0) throw new RangeError("Cannot expand: start() was not called");
    if (this.#width !== 1) {
      throw new RangeError(`Cannot expand: sequences are already expanded to width ${this.#width}`);
    }
    if (!(Number.isInteger(width) && width >= 1 && width <= this.maxWidth)) {
      throw new RangeError(`Cannot expand to width ${width}: must be 1..${this.maxWidth}`);
    }
    this.#width = width;
  }

  /** Check and record a step (token at the old `[MASK]`, new `[MASK]` after it); returns its inputs. */
  step(tokens: Numbers): StepInputs {
    const N = this.numSequences;
    if (this.#pos < 0) throw new RangeError("Cannot step: start() was not called");
    if (tokens.length !== N) throw new TypeError(`Cannot step: ${tokens.length} tokens for ${N} sequences`);
    if (this.#pos + 1 >= this.maxLength) {
      throw new RangeError(`Cannot step: position ${this.#pos + 1} is beyond maxLength ${this.maxLength}`);
    }
    const ids = new Int32Array(N * 2);
    for (let n = 0; n < N; n++) {
      ids[2 * n] = tokens[n];
      ids[2 * n + 1] = this.#maskId;
    }
    const start = this.#pos;
    this.#pos++;
    return this.#inputs(ids, start, 2);
  }

  /** Check beam back-pointers (each within its image); returns them as int32. */
  reorder(src: Numbers): Int32Array {
    const N = this.numSequences, W = this.#width;
    if (src.length !== N) throw new TypeError(`Cannot reorder: ${src.length} indices for ${N} sequences`);
    const idx = new Int32Array(N);
    for (let n = 0; n < N; n++) {
      const s = src[n];
      if (!(Number.isInteger(s) && s >= 0 && s < N && Math.floor(s / W) === Math.floor(n / W))) {
        throw new RangeError(
          `Cannot reorder: sequence ${n} (image ${Math.floor(n / W)}) cannot take sequence ${s}`,
        );
      }
      idx[n] = s;
    }
    return idx;
  }

  #inputs(ids: Int32Array, start: number, Lq: number): StepInputs {
    const L = this.maxLength, A = this.promptLength;
    const W = start === 0 ? 1 : this.#width, N = this.#images * W, Lk = start + Lq;
    const seg = new Int32Array(N * Lq), mask = new Float32Array(N * Lq * Lk);
    for (let n = 0; n < N; n++) {
      const img = Math.floor(n / W);
      for (let i = 0; i < Lq; i++) {
        const row = start + i, o = (n * Lq + i) * Lk;
        seg[n * Lq + i] = this.#segHost[img * L + row];
        if (this.#maskHost) {
          const src = (img * L + row) * L;
          for (let j = 0; j < Lk; j++) mask[o + j] = this.#maskHost[src + j];
        } else {
          for (let j = 0; j < Lk; j++) mask[o + j] = j < A || (row >= A && j <= row) ? 1 : 0;
        }
      }
    }
    return { start, Lq, Lk, N, W, ids, segmentIds: seg, mask };
  }
}
