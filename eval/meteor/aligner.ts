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
 * per module, so a long caption against ordinary references stays linear in its length; the optional
 * `limit` on the work of one alignment turns a pathological pair (thousands of repeated words on both
 * sides) into a {@linkcode MeteorWorkLimitError} instead of minutes of search.
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
import { collectStage, TestSentence, type WordLookups } from "./stage.ts";

/** An alignment: Meteor's statistics and the chosen match starting at each reference word (or null). */
export interface Alignment {
  stats: AlignmentStats;
  matches: (Match | null)[];
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
   * Aligns a test sentence (words, or {@linkcode prepare}d) with a reference. Throws a
   * {@linkcode MeteorWorkLimitError} when collecting the candidates would take more than `limit` work.
   */
  align(test: readonly string[] | TestSentence, words2: readonly string[], limit = Infinity): Alignment {
    const t = test instanceof TestSentence ? test : this.prepare(test);
    const words1 = t.words, n1 = words1.length, n2 = words2.length;
    // Identical sentences only need exact matches (this avoids beam search errors).
    const identical = n1 === n2 && words2.every((w, j) => javaHash(w) === t.keys[j]);
    const modsUsed = identical ? 1 : this.modules.length;
    const stage = collectStage(t, words2, this.modules, modsUsed, this.lookups, limit);
    this.counters.work += stage.work;

    // One-to-one matches without competition are fixed before the search.
    const fixedAt = new Array<Match | null>(n2).fill(null);
    for (let j = 0; j < n2; j++) {
      const bs = stage.blocks[j];
      if (bs.length !== 1 || bs[0].at.length !== 1) continue;
      const b = bs[0];
      const m: Match = {
        start: j,
        length: b.len2 === null ? 1 : b.len2[0],
        matchStart: b.at[0],
        matchLength: b.len1 === null ? 1 : b.len1[0],
        module: b.module,
      };
      let overlap = false;
      for (let k = 0; k < m.length; k++) if (stage.cov2[j + k] !== 1) overlap = true;
      for (let k = 0; k < m.matchLength; k++) if (stage.cov1[m.matchStart + k] !== 1) overlap = true;
      if (!overlap) fixedAt[j] = m;
    }
    const matches = beamSearch(stage, n1, fixedAt, this.weights, this.counters);
    return {
      stats: alignmentStats(words1, words2, matches, this.modules.length, this.functionWords),
      matches,
    };
  }
}
