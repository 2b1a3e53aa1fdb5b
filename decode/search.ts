/**
 * The three search loops of VLP's decoder over a {@linkcode StepScorer} (spec §5.2, §5.3, §4.3):
 *
 * - {@linkcode greedySearch}: argmax of the raw logits at each step; the score of a step is that max logit
 *   (what VLP's greedy returns as "probs"). `min_len` and n-gram blocking do not apply (as in VLP). Where the
 *   scorer offers `startTop`/`stepTop` (our decoder on any backend), the argmax is taken on the backend
 *   (`topkRows` with k = 1) and only the ids and their logits come back each step; the same ids and scores
 *   as the host argmax (`hostArgmax: true`), since both pick the first maximum and copy its value.
 * - {@linkcode sampleSearch}: a draw from softmax(logits) with the project's seeded {@linkcode Rng}; the score
 *   is the log-prob of the drawn word (what SCST's loss uses). Pair with a scorer in train mode (dropout on)
 *   for SCST's sampling pass.
 * - {@linkcode beamSearch}: {@linkcode BeamSearch} bookkeeping between the scorer's steps.
 *
 * Early stop (`stopEarly`, default on): greedy and sampling stop once every sequence has emitted `[SEP]` or
 * `[PAD]`: everything up to and including that word is what running all steps gives, and the original's
 * caption and SCST post-processing both cut there; the ids after it (continuations in the original) are
 * left 0 with score 0. Beam search stops once {@linkcode BeamSearch.finished}: its results are identical to
 * running all steps.
 *
 * @module
 */
import { type Rng, SPECIAL_IDS, TOPK_MAX } from "@vlp/model";
import { type BeamHypothesis, type BeamOptions, BeamSearch } from "./beam.ts";
import type { StepScorer, TopRows } from "./scorer.ts";
import { argmaxRow, type FloatRows, logSumExpRow, sampleRow } from "./scores.ts";

/** Options of {@linkcode greedySearch} and {@linkcode sampleSearch}. */
export interface SequentialOptions {
  /** `[SEP]` = 102 */
  eosId?: number;
  /** `[PAD]` = 0 (also ends a caption in VLP's post-processing) */
  padId?: number;
  /** Stop when every sequence has ended (default true; see the module doc). */
  stopEarly?: boolean;
}

/** Options of {@linkcode greedySearch}. */
export interface GreedyOptions extends SequentialOptions {
  /** Read the whole logits rows and take the argmax on the host even where the scorer could on its device. */
  hostArgmax?: boolean;
}

/** Output of {@linkcode greedySearch} / {@linkcode sampleSearch}. */
export interface SequentialResult {
  /** [B, T] word of each step (T = scorer.maxSteps; steps not run after an early stop are 0) */
  ids: Int32Array;
  /** [B, T] greedy: the max logit; sampling: the log-prob of the drawn word (0 where not run) */
  scores: Float32Array;
  /** logits calls made (≤ T) */
  steps: number;
}

/** Greedy decoding (see the module doc). */
export function greedySearch(scorer: StepScorer, opts: GreedyOptions = {}): Promise<SequentialResult> {
  const { startTop, stepTop } = scorer;
  if (startTop && stepTop && !opts.hostArgmax) {
    // the argmax on the scorer's device: [rows, 1] ids and logits come back
    const picker = (top: TopRows): Picker => (b) => [top.indices[b], top.values[b]];
    return sequential(
      scorer,
      opts,
      async () => picker(await startTop.call(scorer, 1)),
      async (tokens) => picker(await stepTop.call(scorer, tokens, 1)),
    );
  }
  return hostPicks(scorer, opts, (x, r, V) => {
    const j = argmaxRow(x, r, V);
    return [j, x[r * V + j]];
  });
}

/** Options of {@linkcode sampleSearch}. */
export interface SampleOptions extends SequentialOptions {
  /** one `rng.float()` per sequence and step, in sequence order */
  rng: Rng;
}

/** Multinomial sampling from softmax(logits) (see the module doc). */
export function sampleSearch(scorer: StepScorer, opts: SampleOptions): Promise<SequentialResult> {
  return hostPicks(scorer, opts, (x, r, V) => {
    const lse = logSumExpRow(x, r, V);
    const j = sampleRow(x, r, V, opts.rng, lse);
    return [j, x[r * V + j] - lse.max - lse.logSum];
  });
}

/** The word and score of sequence b at one step. */
type Picker = (b: number) => [number, number];

/** {@linkcode sequential} over the logits rows read to the host. */
function hostPicks(
  scorer: StepScorer,
  opts: SequentialOptions,
  pick: (x: FloatRows, row: number, V: number) => [number, number],
): Promise<SequentialResult> {
  const V = scorer.vocabSize;
  const picker = (x: FloatRows): Picker => (b) => pick(x, b, V);
  return sequential(
    scorer,
    opts,
    async () => picker(await scorer.start()),
    async (tokens) => picker(await scorer.step(tokens)),
  );
}

async function sequential(
  scorer: StepScorer,
  opts: SequentialOptions,
  first: () => Promise<Picker>,
  next: (tokens: Int32Array) => Promise<Picker>,
): Promise<SequentialResult> {
  const B = scorer.images, T = scorer.maxSteps;
  const eos = opts.eosId ?? SPECIAL_IDS.sep,
    pad = opts.padId ?? SPECIAL_IDS.pad,
    stopEarly = opts.stopEarly ?? true;
  const ids = new Int32Array(B * T), scores = new Float32Array(B * T);
  const ended = new Uint8Array(B);
  const tokens = new Int32Array(B);
  let pick = await first(), steps = 1, open = B;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const [j, s] = pick(b);
      ids[b * T + t] = tokens[b] = j;
      scores[b * T + t] = s;
      if (!ended[b] && (j === eos || j === pad)) {
        ended[b] = 1;
        open--;
      }
    }
    if (t + 1 === T || (stopEarly && open === 0)) break;
    pick = await next(tokens);
    steps++;
  }
  return { ids, scores, steps };
}

/** Options of {@linkcode beamSearch}. */
export interface BeamSearchOptions extends BeamOptions {
  /** Stop once every image's beams have all ended (default true; identical results). */
  stopEarly?: boolean;
  /**
   * Read whole logits rows and take the log-softmax and top W on the host even where the scorer offers a
   * device-side top-k (`startTop`/`stepTop`; used without n-gram blocking unless this is set).
   */
  hostRows?: boolean;
}

/** Output of {@linkcode beamSearch}. */
export interface BeamResult {
  /** the chosen hypothesis of each image */
  hypotheses: BeamHypothesis[];
  /** logits calls made (≤ scorer.maxSteps) */
  steps: number;
  /** the whole search state (per-step words, back-pointers, scores) */
  state: BeamSearch;
}

/** VLP's beam search with the model behind `scorer` (see {@linkcode BeamSearch}). */
export async function beamSearch(scorer: StepScorer, opts: BeamSearchOptions): Promise<BeamResult> {
  const state = new BeamSearch(scorer.images, scorer.vocabSize, opts);
  const T = scorer.maxSteps, stopEarly = opts.stopEarly ?? true;
  const { startTop, stepTop } = scorer;
  const K = state.topNeeded;
  if (
    startTop && stepTop && !opts.hostRows && !opts.forbidDuplicateNgrams &&
    K <= Math.min(TOPK_MAX, scorer.vocabSize)
  ) {
    // the candidates on the scorer's device: the top W + 1 logits of each row and its log-sum-exp terms
    let top = await startTop.call(scorer, K);
    for (let t = 0; t < T; t++) {
      const { tokens, parents, identity } = state.advanceTop(top);
      if (t + 1 === T || (stopEarly && state.finished)) break;
      if (t === 0) scorer.expand(state.width);
      else if (!identity) scorer.reorder(parents);
      top = await stepTop.call(scorer, tokens, K);
    }
    return { hypotheses: state.results(), steps: state.steps, state };
  }
  let logits = await scorer.start();
  for (let t = 0; t < T; t++) {
    const { tokens, parents, identity } = state.advance(logits);
    if (t + 1 === T || (stopEarly && state.finished)) break;
    if (t === 0) scorer.expand(state.width);
    else if (!identity) scorer.reorder(parents);
    logits = await scorer.step(tokens);
  }
  return { hypotheses: state.results(), steps: state.steps, state };
}

/**
 * VLP's SCST post-processing of [B, T] ids: each row is kept up to its first `[SEP]` (kept) or `[PAD]`, and
 * zeroed after it (returns a new array).
 */
export function truncateAtEnd(
  ids: Int32Array,
  B: number,
  eosId: number = SPECIAL_IDS.sep,
  padId: number = SPECIAL_IDS.pad,
): Int32Array {
  const T = ids.length / B, out = new Int32Array(ids.length);
  if (!Number.isInteger(T)) throw new TypeError(`Cannot truncate: ${ids.length} ids are not ${B} rows`);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const w = ids[b * T + t];
      if (w === padId) break;
      out[b * T + t] = w;
      if (w === eosId) break;
    }
  }
  return out;
}

/**
 * Rows of `length` ids, each sequence copied from the start and zero-padded (VLP's `_pad_sequence` of the
 * beam output: [B, output_length]).
 */
export function padSequences(seqs: readonly ArrayLike<number>[], length: number): Int32Array {
  const out = new Int32Array(seqs.length * length);
  seqs.forEach((s, i) => {
    if (s.length > length) {
      throw new RangeError(`Cannot pad: sequence ${i} has ${s.length} ids, more than ${length}`);
    }
    out.set(Array.from(s), i * length);
  });
  return out;
}
