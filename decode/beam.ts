/**
 * Beam-search bookkeeping of VLP (`BertForSeq2SeqDecoder.beam_search`, spec §5.3), separated from the model:
 * it takes each step's raw logits and returns the tokens and back-pointers of the new beams, so it can be
 * driven by the model ({@linkcode beamSearch} with a `StepScorer`) or by a fake scorer in tests.
 *
 * One step, per image (B images, W beams, V words; sequence n = b·W + w):
 * 1. log_softmax of each row (float32); + (−10000) on the words n-gram blocking banned for that beam;
 *    while step + 1 ≤ min_len the `[SEP]` log-prob is SET to −10000.
 * 2. First step (one row per image): the top W words give the W beams, back-pointers 0.
 *    Later steps: top W words of each beam; candidate score = logp + (−10000·[beam's last word is [SEP]] +
 *    beam score), all in float32 as PyTorch adds them; the top W of the W·W candidates are the new beams,
 *    back-pointer = candidate index div W. Finished beams are thus pushed out, not kept.
 * 3. With n-gram blocking, each beam's partial sequence is extended and the words to ban at the next step
 *    are computed ({@linkcode duplicateNgramCandidates}).
 *
 * Final selection (per image): last frame = the first step at which all W beams chose `[SEP]` (else the last
 * step); over every step f ≤ last frame and every beam whose word is `[SEP]` (every beam at the last frame),
 * the best of score + length_penalty·(f + 1) (additive, first on ties) is back-tracked through the pointers.
 * The `[SEP]` is part of the returned tokens.
 *
 * Early stop: once every image has had a step where all its beams chose `[SEP]`, later steps cannot change
 * any image's result ({@linkcode BeamSearch.finished}); stopping there gives the output of running all steps.
 *
 * Ties (equal float32 scores) are broken by the lower index (word id, then flattened candidate index).
 *
 * @example Usage (the bookkeeping alone, with made-up logits)
 * ```ts
 * import { BeamSearch } from "@vlp/decode";
 * import assert from "node:assert/strict";
 * const V = 4, EOS = 3;
 * const bs = new BeamSearch(1, V, { width: 2, eosId: EOS });
 * bs.advance([0, 2, 1, 0]); // first step: beams "1", "2"
 * bs.advance([0, 0, 0, 5, 0, 0, 0, 5]); // both beams end
 * assert.ok(bs.finished);
 * assert.deepEqual([...bs.results()[0].tokens], [1, EOS]);
 * ```
 *
 * @module
 */
import { SPECIAL_IDS } from "@vlp/model";
import { duplicateNgramCandidates } from "./ngram.ts";
import { logSoftmaxRow, topK } from "./scores.ts";

/** Settings of VLP's beam search (CLI flags in brackets). */
export interface BeamOptions {
  /** W (`--beam_size`) */
  width: number;
  /** end-of-sentence id: `[SEP]` = 102 */
  eosId?: number;
  /** additive per-token bonus at the final selection (`--length_penalty`, default 0) */
  lengthPenalty?: number;
  /** `[SEP]` forbidden while step + 1 ≤ minLen (`--min_len`; null/0 = off) */
  minLen?: number | null;
  /** `--forbid_duplicate_ngrams` */
  forbidDuplicateNgrams?: boolean;
  /** n of the blocking (`--ngram_size`, default 3) */
  ngramSize?: number;
  /** ids of `--forbid_ignore_word` */
  forbidIgnoreIds?: Iterable<number>;
}

/** The new beams of one step. */
export interface BeamStep {
  /** [B·W] word of each new beam */
  tokens: Int32Array;
  /**
   * [B·W] the sequence each new beam continues, as an index into the previous step's sequences (first
   * step: the image's only sequence, b; later: b·W + back-pointer). Identity when nothing moved.
   */
  parents: Int32Array;
  /** whether `parents` is the identity (no cache reorder needed) */
  identity: boolean;
}

/** The chosen hypothesis of one image. */
export interface BeamHypothesis {
  /** words in order; ends with `[SEP]` unless chosen at the last frame without it; [0] if none scored */
  tokens: Int32Array;
  /** cumulative log-prob (float32) + length_penalty·(frame + 1) */
  score: number;
  /** step at which it ends (−1 if none) */
  frame: number;
}

const PUSH = -10000; // VLP's "effectively minus infinity"

/** The state of a beam search over B images (see the module doc). */
export class BeamSearch {
  readonly images: number;
  readonly vocabSize: number;
  readonly width: number;
  readonly eosId: number;
  readonly lengthPenalty: number;
  readonly minLen: number;
  readonly ngramSize: number;
  readonly forbidDuplicateNgrams: boolean;
  readonly forbidIgnore: ReadonlySet<number>;
  /** per step: [B·W] words */
  readonly stepTokens: Int32Array[] = [];
  /** per step: [B·W] back-pointers within the image (0..W−1) */
  readonly stepPointers: Int32Array[] = [];
  /** per step: [B·W] cumulative float32 scores */
  readonly stepScores: Float32Array[] = [];
  #partial: number[][] = []; // [B·W] sequences (n-gram blocking only)
  #banned: (number[] | null)[] | null = null; // [B·W] words banned at the next step
  #doneAt: Int32Array; // [B] first step where all W beams chose [SEP], −1 before
  #logp: Float32Array;
  #topIdx: Int32Array;
  #topVal: Float32Array;
  #candIdx: Int32Array;
  #candVal: Float64Array;

  constructor(images: number, vocabSize: number, opts: BeamOptions) {
    const W = opts.width;
    if (!(Number.isInteger(images) && images >= 1)) {
      throw new RangeError(`Cannot start beam search: images must be ≥ 1, got ${images}`);
    }
    if (!(Number.isInteger(W) && W >= 1 && W <= vocabSize)) {
      throw new RangeError(`Cannot start beam search: beam size must be 1..${vocabSize}, got ${W}`);
    }
    this.images = images;
    this.vocabSize = vocabSize;
    this.width = W;
    this.eosId = opts.eosId ?? SPECIAL_IDS.sep;
    this.lengthPenalty = opts.lengthPenalty ?? 0;
    this.minLen = opts.minLen ?? 0;
    this.ngramSize = opts.ngramSize ?? 3;
    this.forbidDuplicateNgrams = opts.forbidDuplicateNgrams ?? false;
    this.forbidIgnore = new Set(opts.forbidIgnoreIds ?? []);
    if (!(Number.isInteger(this.ngramSize) && this.ngramSize >= 1)) {
      throw new RangeError(`Cannot start beam search: ngram size must be ≥ 1, got ${this.ngramSize}`);
    }
    this.#doneAt = new Int32Array(images).fill(-1);
    this.#logp = new Float32Array(vocabSize);
    this.#topIdx = new Int32Array(images * W * W);
    this.#topVal = new Float32Array(images * W * W);
    this.#candIdx = new Int32Array(W);
    this.#candVal = new Float64Array(W);
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.stepTokens.length;
  }

  /** Rows the next {@linkcode BeamSearch.advance} expects: B at the first step, B·W after. */
  get rows(): number {
    return this.steps === 0 ? this.images : this.images * this.width;
  }

  /** True once every image has had a step where all its beams chose `[SEP]` (later steps change nothing). */
  get finished(): boolean {
    for (let b = 0; b < this.images; b++) if (this.#doneAt[b] < 0) return false;
    return true;
  }

  /** One step from raw logits [rows, V] (see the module doc); returns the new beams. */
  advance(logits: ArrayLike<number>): BeamStep {
    const W = this.width, V = this.vocabSize, rows = this.rows, t = this.steps;
    if (logits.length !== rows * V) {
      throw new TypeError(
        `Cannot advance beam search: logits have ${logits.length} values, expected ${rows}·${V}`,
      );
    }
    const eosBan = this.minLen > 0 && t + 1 <= this.minLen;
    // 1. per row: log_softmax, bans, top W words
    const topIdx = this.#topIdx, topVal = this.#topVal, logp = this.#logp;
    for (let r = 0; r < rows; r++) {
      logSoftmaxRow(logits, r, V, logp);
      const banned = this.#banned?.[r];
      if (banned) { for (const id of banned) logp[id] = Math.fround(logp[id] + PUSH); }
      if (eosBan) logp[this.eosId] = PUSH;
      topK(logp, 0, V, W, topIdx.subarray(r * W, (r + 1) * W), topVal.subarray(r * W, (r + 1) * W));
    }
    return this.#commit();
  }

  /** How many top logits per row {@linkcode BeamSearch.advanceTop} needs (W + 1: room for the `[SEP]` ban). */
  get topNeeded(): number {
    return this.width + 1;
  }

  /**
   * {@linkcode BeamSearch.advance} from each row's top K ≥ W + 1 raw logits (descending, ties to the lower
   * id) and its (max, Σ exp(x − max)), as a device-side top-k gives them: the log-softmax of those words
   * only (x − max − log Σ, as `logSoftmaxRow`), the `[SEP]` ban, then the top W. The same beams as
   * `advance` whenever the sums agree (the sum of a float32 device reduction may differ from the host's in
   * the last bits). Not with n-gram blocking (its bans reach beyond the top K): throws.
   */
  advanceTop(
    top: { values: ArrayLike<number>; indices: ArrayLike<number>; stats: ArrayLike<number> },
  ): BeamStep {
    const W = this.width, rows = this.rows, t = this.steps, K = top.indices.length / rows;
    if (this.forbidDuplicateNgrams) {
      throw new TypeError("Cannot advance beam search from top-k rows with n-gram blocking");
    }
    if (
      !Number.isInteger(K) || K < W + 1 || top.values.length !== rows * K || top.stats.length !== 2 * rows
    ) {
      throw new TypeError(
        `Cannot advance beam search: top rows of ${top.indices.length} ids for ${rows} rows, W ${W}`,
      );
    }
    const eosBan = this.minLen > 0 && t + 1 <= this.minLen;
    const topIdx = this.#topIdx, topVal = this.#topVal, logp = this.#logp;
    const pos = new Int32Array(W);
    for (let r = 0; r < rows; r++) {
      const max = top.stats[2 * r], logSum = Math.log(top.stats[2 * r + 1]);
      for (let c = 0; c < K; c++) {
        const id = top.indices[r * K + c];
        logp[c] = id < 0
          ? -Infinity
          : eosBan && id === this.eosId
          ? PUSH
          : top.values[r * K + c] - max - logSum;
      }
      topK(logp.subarray(0, K), 0, K, W, pos, topVal.subarray(r * W, (r + 1) * W));
      for (let w = 0; w < W; w++) topIdx[r * W + w] = top.indices[r * K + pos[w]];
    }
    return this.#commit();
  }

  /** Steps 2 and 3 from the per-row top W in #topIdx / #topVal. */
  #commit(): BeamStep {
    const B = this.images, W = this.width, t = this.steps;
    const topIdx = this.#topIdx, topVal = this.#topVal;
    // 2. new beams
    const tokens = new Int32Array(B * W), ptrs = new Int32Array(B * W), scores = new Float32Array(B * W);
    const parents = new Int32Array(B * W);
    let identity = t > 0;
    if (t === 0) {
      for (let b = 0; b < B; b++) {
        for (let w = 0; w < W; w++) {
          tokens[b * W + w] = topIdx[b * W + w];
          scores[b * W + w] = topVal[b * W + w];
          parents[b * W + w] = b;
        }
      }
    } else {
      const prevTok = this.stepTokens[t - 1], prevScore = this.stepScores[t - 1];
      const cand = new Float32Array(W * W);
      for (let b = 0; b < B; b++) {
        for (let w = 0; w < W; w++) {
          const n = b * W + w;
          const base = Math.fround((prevTok[n] === this.eosId ? PUSH : 0) + prevScore[n]);
          for (let j = 0; j < W; j++) cand[w * W + j] = Math.fround(topVal[n * W + j] + base);
        }
        topK(cand, 0, W * W, W, this.#candIdx, this.#candVal);
        for (let w = 0; w < W; w++) {
          const c = this.#candIdx[w], n = b * W + w, ptr = Math.floor(c / W);
          tokens[n] = topIdx[(b * W + ptr) * W + (c % W)];
          scores[n] = this.#candVal[w];
          ptrs[n] = ptr;
          parents[n] = b * W + ptr;
          if (ptr !== w) identity = false;
        }
      }
    }
    this.stepTokens.push(tokens);
    this.stepPointers.push(ptrs);
    this.stepScores.push(scores);
    for (let b = 0; b < B; b++) {
      if (this.#doneAt[b] >= 0) continue;
      let all = true;
      for (let w = 0; w < W && all; w++) all = tokens[b * W + w] === this.eosId;
      if (all) this.#doneAt[b] = t;
    }
    // 3. n-gram blocking for the next step
    if (this.forbidDuplicateNgrams) this.#updateBans(tokens, parents, t);
    return { tokens, parents, identity };
  }

  #updateBans(tokens: Int32Array, parents: Int32Array, t: number): void {
    const N = tokens.length;
    this.#partial = Array.from(
      { length: N },
      (_, n) => t === 0 ? [tokens[n]] : [...this.#partial[parents[n]], tokens[n]],
    );
    if (this.#partial[0].length < this.ngramSize) return; // bans unchanged (none yet)
    const banned = this.#partial.map((s) => duplicateNgramCandidates(s, this.ngramSize, this.forbidIgnore));
    this.#banned = banned.some((c) => c.length > 0) ? banned.map((c) => (c.length ? c : null)) : null;
  }

  /** The chosen hypothesis of every image (see the module doc). */
  results(): BeamHypothesis[] {
    const W = this.width, T = this.steps;
    const out: BeamHypothesis[] = [];
    for (let b = 0; b < this.images; b++) {
      const last = this.#doneAt[b] >= 0 ? this.#doneAt[b] : T - 1;
      let best = -Infinity, frame = -1, pos = -1;
      for (let f = 0; f <= last; f++) {
        for (let w = 0; w < W; w++) {
          const n = b * W + w;
          if (this.stepTokens[f][n] !== this.eosId && f !== last) continue;
          const s = this.stepScores[f][n] + this.lengthPenalty * (f + 1);
          if (s > best) {
            best = s;
            frame = f;
            pos = w;
          }
        }
      }
      if (frame < 0) {
        out.push({ tokens: new Int32Array([0]), score: -Infinity, frame: -1 });
        continue;
      }
      const seq = new Int32Array(frame + 1);
      seq[frame] = this.stepTokens[frame][b * W + pos];
      for (let f = frame; f > 0; f--) {
        pos = this.stepPointers[f][b * W + pos];
        seq[f - 1] = this.stepTokens[f - 1][b * W + pos];
      }
      out.push({ tokens: seq, score: best, frame });
    }
    return out;
  }
}
