/**
 * METEOR 1.5 as coco-caption runs it (`-l en -norm`): each hypothesis is normalised and lowercased,
 * aligned with every reference, and keeps the statistics of its best-scoring reference (first one on
 * ties); an image's score comes from its statistics, and the corpus score from the statistics summed
 * over the images (Meteor's `addStats`: chunks of perfect matches are not added), then scored once.
 *
 * Parameters are Meteor's English "rank" task: alpha 0.85, beta 0.20, gamma 0.60, delta 0.75; module
 * weights exact 1.0, stem 0.6, synonym 0.8, paraphrase 0.6.
 *
 * @module
 */
import { Aligner, BoundedCache } from "./aligner.ts";
import type { AlignmentStats, MeteorModule } from "./alignment.ts";
import { javaTokens } from "./java_compat.ts";
import { normalizeEnglish } from "./normalizer.ts";
import type { MeteorResources } from "./resources.ts";
import { MeteorWorkLimitError } from "./stage.ts";

/**
 * Most candidate word matches (over all its references) that one hypothesis may have. Meteor's search
 * grows with the product of the sentence lengths; ordinary captions have tens, a 100,000-word caption
 * against five references about 400,000; past this limit (thousands of repeated words on both sides, or
 * a caption of hundreds of thousands of words) scoring is refused with an error, before any search,
 * rather than left to run for minutes.
 */
export const METEOR_MAX_CANDIDATES = 1 << 22;

/** Meteor's English parameters (task "rank"). */
export const METEOR_EN = { alpha: 0.85, beta: 0.2, gamma: 0.6, delta: 0.75 } as const;

/** Scoring weight of each module for English. */
export const METEOR_EN_WEIGHTS: Record<MeteorModule, number> = {
  exact: 1.0,
  stem: 0.6,
  synonym: 0.8,
  paraphrase: 0.6,
};

/** Meteor's sufficient statistics (`MeteorStats`, aggregable part); per-module lists are indexed like the modules. */
export interface MeteorStats extends AlignmentStats {
  /** Matched test / reference words, all modules. */
  testWordMatches: number;
  referenceWordMatches: number;
}

function fromAlignment(a: AlignmentStats): MeteorStats {
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  return {
    ...a,
    testWordMatches: sum(a.testContent) + sum(a.testFunction),
    referenceWordMatches: sum(a.referenceContent) + sum(a.referenceFunction),
  };
}

function totals(s: MeteorStats): { test: number; ref: number } {
  let test = 0, ref = 0;
  for (let i = 0; i < s.testContent.length; i++) {
    test += s.testContent[i] + s.testFunction[i];
    ref += s.referenceContent[i] + s.referenceFunction[i];
  }
  return { test, ref };
}

/** Whether the statistics describe a perfect match in one chunk. */
function isPerfect(s: MeteorStats): boolean {
  const t = totals(s);
  return t.test === s.testLength && t.ref === s.referenceLength && s.chunks === 1;
}

/** Meteor's `computeMetrics`: the score of a set of statistics. */
export function meteorScore(s: MeteorStats, weights: readonly number[]): number {
  const { alpha, beta, gamma, delta } = METEOR_EN;
  const testWeightedLength = delta * (s.testLength - s.testFunctionWords) +
    (1.0 - delta) * s.testFunctionWords;
  const refWeightedLength = delta * (s.referenceLength - s.referenceFunctionWords) +
    (1.0 - delta) * s.referenceFunctionWords;
  let testMatches = 0, refMatches = 0;
  for (let i = 0; i < weights.length; i++) testMatches += s.testContent[i] * weights[i] * delta;
  for (let i = 0; i < weights.length; i++) refMatches += s.referenceContent[i] * weights[i] * delta;
  for (let i = 0; i < weights.length; i++) testMatches += s.testFunction[i] * weights[i] * (1.0 - delta);
  for (let i = 0; i < weights.length; i++) refMatches += s.referenceFunction[i] * weights[i] * (1.0 - delta);
  const precision = testMatches / testWeightedLength;
  const recall = refMatches / refWeightedLength;
  const fMean = 1.0 / ((1.0 - alpha) / precision + alpha / recall);
  const frag = isPerfect(s) ? 0 : s.chunks / ((s.testWordMatches + s.referenceWordMatches) / 2);
  const fragPenalty = gamma * Math.pow(frag, beta);
  const score = fMean * (1.0 - fragPenalty);
  return Number.isNaN(score) ? 0 : Math.max(score, 0.0);
}

/** Sums statistics as Meteor's `addStats` does (chunks of perfect segments are left out). */
export function addStats(total: MeteorStats, s: MeteorStats): void {
  total.testLength += s.testLength;
  total.referenceLength += s.referenceLength;
  total.testFunctionWords += s.testFunctionWords;
  total.referenceFunctionWords += s.referenceFunctionWords;
  for (let i = 0; i < s.testContent.length; i++) {
    total.testContent[i] += s.testContent[i];
    total.referenceContent[i] += s.referenceContent[i];
    total.testFunction[i] += s.testFunction[i];
    total.referenceFunction[i] += s.referenceFunction[i];
  }
  if (!isPerfect(s)) total.chunks += s.chunks;
  total.testWordMatches += s.testWordMatches;
  total.referenceWordMatches += s.referenceWordMatches;
}

function emptyStats(modules: number): MeteorStats {
  const z = () => new Array<number>(modules).fill(0);
  return {
    testLength: 0,
    referenceLength: 0,
    testFunctionWords: 0,
    referenceFunctionWords: 0,
    testContent: z(),
    referenceContent: z(),
    testFunction: z(),
    referenceFunction: z(),
    chunks: 0,
    testWordMatches: 0,
    referenceWordMatches: 0,
  };
}

/** Result of {@linkcode Meteor.score}. */
export interface MeteorResult {
  /** Corpus score (from the summed statistics). */
  score: number;
  /** Per-hypothesis scores. */
  perImage: number[];
  /** Per-hypothesis statistics of the best reference. */
  stats: MeteorStats[];
  /** "METEOR" with the paraphrase module, "METEOR_noparaphrase" without. */
  name: "METEOR" | "METEOR_noparaphrase";
}

/** English METEOR 1.5 scorer; uses the paraphrase module when the resources include a table. */
export class Meteor {
  readonly modules: readonly MeteorModule[];
  readonly weights: readonly number[];
  /** The word aligner; its `counters` say how much work the scoring took. */
  readonly aligner: Aligner;
  private readonly maxCandidates: number;
  /** Normalised words by text (references repeat across calls); forgets all past 16 M characters. */
  private normCache = new BoundedCache<string[]>(1 << 24);

  /** `maxCandidates`: the limit per hypothesis (default {@linkcode METEOR_MAX_CANDIDATES}). */
  constructor(res: MeteorResources, opts: { maxCandidates?: number } = {}) {
    this.modules = res.paraphrase ? ["exact", "stem", "synonym", "paraphrase"] : ["exact", "stem", "synonym"];
    this.weights = this.modules.map((m) => METEOR_EN_WEIGHTS[m]);
    this.aligner = new Aligner(this.modules, res);
    this.maxCandidates = opts.maxCandidates ?? METEOR_MAX_CANDIDATES;
  }

  /** `-norm` then lowercase, split into words (as Meteor's `Alignment` does). */
  words(text: string): string[] {
    return this.normCache.get(text, (t) => javaTokens(normalizeEnglish(t).toLowerCase()));
  }

  /**
   * Statistics of one hypothesis against its references: those of the best-scoring reference. Throws a
   * {@linkcode MeteorWorkLimitError} past the candidate limit.
   */
  segmentStats(hypothesis: string, references: readonly string[]): MeteorStats {
    const test = this.aligner.prepare(this.words(hypothesis));
    let best: MeteorStats | null = null, bestScore = -1;
    // All candidates first, so that a hypothesis over the limit is refused before any search.
    const start = this.aligner.counters.work;
    let pairs;
    try {
      pairs = references.map((r) =>
        this.aligner.collect(test, this.words(r), this.maxCandidates - (this.aligner.counters.work - start))
      );
    } catch (e) {
      if (!(e instanceof MeteorWorkLimitError)) throw e;
      const refWords = references.reduce((n, x) => n + this.words(x).length, 0);
      throw new MeteorWorkLimitError(
        `a caption of ${test.words.length} words against ${references.length} references of ${refWords} words ` +
          `in all gives more than ${this.maxCandidates} candidate word matches, the most METEOR searches ` +
          "(its cost grows with the product of the lengths); shorten the caption",
        e.work,
        this.maxCandidates,
      );
    }
    for (const pair of pairs) {
      const alignment = this.aligner.search(pair);
      const stats = fromAlignment(alignment.stats);
      const score = meteorScore(stats, this.weights);
      if (score > bestScore) {
        best = stats;
        bestScore = score;
      }
    }
    if (best === null) throw new RangeError("Meteor: a hypothesis needs at least one reference");
    return best;
  }

  /**
   * Corpus and per-hypothesis METEOR (`hypotheses[i]` against `references[i]`). A hypothesis over the
   * candidate limit is a {@linkcode MeteorWorkLimitError} naming it by `labels[i]` (default "hypothesis i").
   */
  score(
    hypotheses: readonly string[],
    references: readonly (readonly string[])[],
    labels?: readonly string[],
  ): MeteorResult {
    if (hypotheses.length !== references.length) {
      throw new RangeError(`Meteor: ${hypotheses.length} hypotheses but ${references.length} reference sets`);
    }
    const total = emptyStats(this.modules.length);
    const stats: MeteorStats[] = [], perImage: number[] = [];
    for (let i = 0; i < hypotheses.length; i++) {
      // coco-caption's wrapper removes "|||" and one level of double spaces from the hypothesis.
      const hyp = hypotheses[i].replaceAll("|||", "").replaceAll("  ", " ");
      let s: MeteorStats;
      try {
        s = this.segmentStats(hyp, references[i]);
      } catch (e) {
        if (!(e instanceof MeteorWorkLimitError)) throw e;
        throw new MeteorWorkLimitError(
          `METEOR: ${labels?.[i] ?? `hypothesis ${i}`}: ${e.message}`,
          e.work,
          e.limit,
        );
      }
      stats.push(s);
      perImage.push(meteorScore(s, this.weights));
      addStats(total, s);
    }
    return {
      score: meteorScore(total, this.weights),
      perImage,
      stats,
      name: this.modules.includes("paraphrase") ? "METEOR" : "METEOR_noparaphrase",
    };
  }
}
