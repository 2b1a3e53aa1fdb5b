/**
 * Meteor 1.5's word aligner (`Aligner.align`): the matching modules (exact, stem, synonym, paraphrase)
 * collect candidate matches for each reference position (`stage.ts`), one-to-one matches without
 * competition are fixed, and a beam search (40 paths, left to right over the reference; `beam.ts`) picks
 * the alignment with the most weighted matched words, then the fewest chunks, then the smallest distance.
 *
 * Faithful to the original in its details: words are compared by Java hash code; the search weights are
 * 1.0 for exact and 0.5 for the other modules and are added to INTEGER counters (so a lone 0.5 adds
 * nothing); when a search path branches, the distance of each branch is added to the path that skips the
 * position instead of to the branch; ties keep the order of a stable sort. `aligner_reference.ts` is the
 * plain step-for-step twin; the tests check that both give the same alignments.
 *
 * Cost: time linear in the sentence lengths plus the number of candidate matches (times the beam width),
 * memory linear in the sentence lengths. Candidate matches are at most (test words) x (reference words)
 * per module, so a long caption against ordinary references stays linear in its length. `collect` and
 * `search` are the two halves of `align`: the candidates of every reference of a caption can be collected
 * (and their number checked against a `limit`) before any search, so that a pathological pair (thousands
 * of repeated words on both sides) is a {@linkcode MeteorWorkLimitError} instead of minutes of search.
 *
 * @module
 */
import {
  type AlignmentStats,
  alignmentStats,
  checkModules,
  type Match,
  type MeteorModule,
  SEARCH_WEIGHT,
} from "./alignment.ts";
import { beamSearch } from "./beam.ts";
import { javaHash } from "./java_compat.ts";
import type { MeteorResources } from "./resources.ts";
import { snowballEnglish } from "./snowball_english.ts";
import { collectStage, fixedMatches, type Stage, TestSentence, type WordLookups } from "./stage.ts";

/** An alignment: Meteor's statistics and the chosen match starting at each reference word (or null). */
export interface Alignment {
  stats: AlignmentStats;
  matches: (Match | null)[];
}

/** A test sentence and a reference with their candidate matches, ready for the search. */
export interface CollectedPair {
  test: TestSentence;
  words2: readonly string[];
  stage: Stage;
}

/** Work done by an {@linkcode Aligner} (cumulative). */
export interface AlignerCounters {
  /** Candidate matches collected (plus positions probed for multi-word paraphrases). */
  work: number;
  /** Candidate paths scored by the beam search. */
  scored: number;
  /** Search paths built. */
  built: number;
}

/** A string-keyed cache that forgets everything once its keys exceed `maxChars` characters in all. */
export class BoundedCache<V> {
  private map = new Map<string, V>();
  private chars = 0;
  constructor(private readonly maxChars: number) {}

  get(key: string, make: (key: string) => V): V {
    let v = this.map.get(key);
    if (v === undefined) {
      v = make(key);
      if (this.chars + key.length > this.maxChars) {
        this.map.clear();
        this.chars = 0;
      }
      this.map.set(key, v);
      this.chars += key.length;
    }
    return v;
  }
}

/** Aligns test sentences with references (both already normalised and split into words). */
export class Aligner {
  readonly counters: AlignerCounters = { work: 0, scored: 0, built: 0 };
  private readonly modules: readonly MeteorModule[];
  private readonly weights: readonly number[];
  private readonly lookups: WordLookups;

  constructor(modules: readonly MeteorModule[], res: MeteorResources) {
    checkModules(modules, res);
    this.modules = modules;
    this.weights = modules.map((m) => SEARCH_WEIGHT[m]);
    const stems = new BoundedCache<number>(1 << 22), syns = new BoundedCache<ReadonlySet<number>>(1 << 22);
    const syn = res.synonyms;
    this.lookups = {
      stemKey: (w) => stems.get(w, (x) => javaHash(snowballEnglish(x))),
      synSets: (w) => syns.get(w, (x) => new Set([...syn.synSets(x), ...syn.stemSynSets(x)])),
      paraphrase: res.paraphrase,
    };
    this.functionWords = res.functionWords;
  }

  private readonly functionWords: ReadonlySet<string>;

  /** Indexes a test sentence once, for aligning it with several references. */
  prepare(words1: readonly string[]): TestSentence {
    return new TestSentence(words1, this.lookups);
  }

  /**
   * Collects the candidate matches of a test sentence (words, or {@linkcode prepare}d) and a reference,
   * without searching yet (so that a caller can check the work of all references first). Throws a
   * {@linkcode MeteorWorkLimitError} when that would take more than `limit` work.
   */
  collect(
    test: readonly string[] | TestSentence,
    words2: readonly string[],
    limit = Infinity,
  ): CollectedPair {
    const t = test instanceof TestSentence ? test : this.prepare(test);
    // Identical sentences only need exact matches (this avoids beam search errors).
    const identical = t.words.length === words2.length && words2.every((w, j) => javaHash(w) === t.keys[j]);
    const modsUsed = identical ? 1 : this.modules.length;
    const stage = collectStage(t, words2, this.modules, modsUsed, this.lookups, limit);
    this.counters.work += stage.work;
    return { test: t, words2, stage };
  }

  /** Searches the best alignment of a collected pair. */
  search({ test, words2, stage }: CollectedPair): Alignment {
    const matches = beamSearch(stage, test.words.length, fixedMatches(stage), this.weights, this.counters);
    return {
      stats: alignmentStats(test.words, words2, matches, this.modules.length, this.functionWords),
      matches,
    };
  }

  /** {@linkcode collect} then {@linkcode search}. */
  align(test: readonly string[] | TestSentence, words2: readonly string[], limit = Infinity): Alignment {
    return this.search(this.collect(test, words2, limit));
  }
}
