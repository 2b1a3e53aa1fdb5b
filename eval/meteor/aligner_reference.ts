/**
 * The plain twin of the word aligner (`aligner.ts`): Meteor 1.5's `Aligner`, `Stage`, the matchers and
 * `PartialAlignment` written out as the original runs them. The matching modules (exact, stem, synonym,
 * paraphrase) collect candidate matches for each reference position, one-to-one matches without
 * competition are fixed, and a beam search (40 paths, left to right over the reference) picks the
 * alignment with the most weighted matched words, then the fewest chunks, then the smallest distance.
 *
 * Faithful to the original in its details: words are compared by Java hash code; the search weights
 * are 1.0 for exact and 0.5 for the other modules and are added to INTEGER counters (so a lone 0.5
 * adds nothing); when a search path branches, the distance of each branch is added to the path that
 * skips the position instead of to the branch; ties keep the order of a stable sort.
 *
 * It compares every test word with every reference word and copies a search path (arrays over both
 * sentences) for every candidate match, so its time and memory grow with the product of the lengths and
 * the number of candidates: it exists to check `aligner.ts` against, on sentences of ordinary length.
 *
 * @module
 */
import {
  alignmentStats,
  checkModules,
  type Match,
  METEOR_BEAM,
  type MeteorModule,
  SEARCH_WEIGHT,
} from "./alignment.ts";
import type { Alignment } from "./aligner.ts";
import { javaHash } from "./java_compat.ts";
import type { MeteorResources } from "./resources.ts";
import { snowballEnglish } from "./snowball_english.ts";

/** A search path (Meteor's `PartialAlignment`). */
class Path {
  matches: (Match | null)[];
  used1: Uint8Array;
  used2: Uint8Array;
  matches1 = 0;
  matches2 = 0;
  chunks = 0;
  idx = 0;
  lastMatchEnd = -1;
  distance = 0;

  constructor(matches: (Match | null)[], used1: Uint8Array, used2: Uint8Array) {
    this.matches = matches;
    this.used1 = used1;
    this.used2 = used2;
  }

  copy(): Path {
    const p = new Path(this.matches.slice(), this.used1.slice(), this.used2.slice());
    p.matches1 = this.matches1;
    p.matches2 = this.matches2;
    p.chunks = this.chunks;
    p.idx = this.idx;
    p.lastMatchEnd = this.lastMatchEnd;
    p.distance = this.distance;
    return p;
  }

  isUsed(m: Match): boolean {
    for (let i = 0; i < m.length; i++) if (this.used2[m.start + i]) return true;
    for (let i = 0; i < m.matchLength; i++) if (this.used1[m.matchStart + i]) return true;
    return false;
  }

  setUsed(m: Match): void {
    for (let i = 0; i < m.length; i++) this.used2[m.start + i] = 1;
    for (let i = 0; i < m.matchLength; i++) this.used1[m.matchStart + i] = 1;
  }

  /** Takes match `m` (Java: `int += double`, truncated). */
  add(m: Match, weight: number): void {
    this.matches1 = Math.trunc(this.matches1 + m.matchLength * weight);
    this.matches2 = Math.trunc(this.matches2 + m.length * weight);
    if (this.lastMatchEnd !== -1 && m.matchStart !== this.lastMatchEnd) this.chunks++;
    this.idx = m.start + m.length;
    this.lastMatchEnd = m.matchStart + m.matchLength;
  }
}

/** Meteor's `PARTIAL_COMPARE_TOTAL`: more weighted matches, then fewer chunks, then less distance. */
function comparePaths(x: Path, y: Path): number {
  const matchDiff = y.matches1 + y.matches2 - (x.matches1 + x.matches2);
  if (matchDiff !== 0) return matchDiff > 0 ? 1 : -1;
  if (x.chunks !== y.chunks) return x.chunks - y.chunks;
  return x.distance - y.distance;
}

/** Aligns a test sentence with a reference (both already normalised and split into words). */
export class ReferenceAligner {
  private readonly modules: readonly MeteorModule[];
  private readonly res: MeteorResources;
  private stemCache = new Map<string, number>();

  constructor(modules: readonly MeteorModule[], res: MeteorResources) {
    checkModules(modules, res);
    this.modules = modules;
    this.res = res;
  }

  private stemKey(w: string): number {
    let k = this.stemCache.get(w);
    if (k === undefined) this.stemCache.set(w, k = javaHash(snowballEnglish(w)));
    return k;
  }

  /** Candidate matches per reference position and coverage counts (Meteor's `Stage`). */
  private collect(words1: readonly string[], words2: readonly string[], modsUsed: number) {
    const n1 = words1.length, n2 = words2.length;
    const keys1 = words1.map(javaHash), keys2 = words2.map(javaHash);
    const matches: Match[][] = Array.from({ length: n2 }, () => []);
    const cov1 = new Int32Array(n1), cov2 = new Int32Array(n2);
    const add = (m: Match) => {
      matches[m.start].push(m);
      for (let k = 0; k < m.matchLength; k++) cov1[m.matchStart + k]++;
      for (let k = 0; k < m.length; k++) cov2[m.start + k]++;
    };
    const one = (j: number, i: number, module: number) =>
      add({ start: j, length: 1, matchStart: i, matchLength: 1, module });
    for (let mod = 0; mod < modsUsed; mod++) {
      const kind = this.modules[mod];
      if (kind === "exact") {
        for (let j = 0; j < n2; j++) for (let i = 0; i < n1; i++) if (keys1[i] === keys2[j]) one(j, i, mod);
      } else if (kind === "stem") {
        const s1 = words1.map((w) => this.stemKey(w)), s2 = words2.map((w) => this.stemKey(w));
        for (let j = 0; j < n2; j++) {
          for (let i = 0; i < n1; i++) if (s1[i] === s2[j] && keys1[i] !== keys2[j]) one(j, i, mod);
        }
      } else if (kind === "synonym") {
        const syn = this.res.synonyms;
        const sets1 = words1.map((w) => new Set([...syn.synSets(w), ...syn.stemSynSets(w)]));
        const sets2 = words2.map((w) => new Set([...syn.synSets(w), ...syn.stemSynSets(w)]));
        for (let j = 0; j < n2; j++) {
          for (let i = 0; i < n1; i++) {
            let shared = false;
            for (const s of sets1[i]) {
              if (sets2[j].has(s)) {
                shared = true;
                break;
              }
            }
            if (shared && keys1[i] !== keys2[j]) one(j, i, mod);
          }
        }
      } else {
        this.paraphraseMatches(words1, words2, mod, add);
      }
    }
    return { keys1, keys2, matches, cov1, cov2 };
  }

  private paraphraseMatches(
    words1: readonly string[],
    words2: readonly string[],
    mod: number,
    add: (m: Match) => void,
  ) {
    const pt = this.res.paraphrase!;
    const line1 = Int32Array.from(words1, (w) => pt.translate(w));
    const line2 = Int32Array.from(words2, (w) => pt.translate(w));
    const occursAt = (line: Int32Array, at: number, words: Int32Array) => {
      for (let k = 0; k < words.length; k++) {
        if (at + k === line.length || line[at + k] !== words[k]) return false;
      }
      return true;
    };
    // Paraphrases in the test of reference phrases, then paraphrases in the reference of test phrases.
    for (let j = 0; j < line2.length; j++) {
      const pars = pt.paths(line2, j);
      for (let p = 0; p < pars.length; p += 2) {
        const words = pt.paraphrase(pars[p + 1]);
        for (let i = 0; i < line1.length; i++) {
          if (occursAt(line1, i, words)) {
            add({ start: j, length: pars[p], matchStart: i, matchLength: words.length, module: mod });
          }
        }
      }
    }
    for (let i = 0; i < line1.length; i++) {
      const pars = pt.paths(line1, i);
      for (let p = 0; p < pars.length; p += 2) {
        const words = pt.paraphrase(pars[p + 1]);
        for (let j = 0; j < line2.length; j++) {
          if (occursAt(line2, j, words)) {
            add({ start: j, length: words.length, matchStart: i, matchLength: pars[p], module: mod });
          }
        }
      }
    }
  }

  /** Aligns `words1` (test) with `words2` (reference): Meteor's statistics and the chosen matches. */
  align(words1: readonly string[], words2: readonly string[]): Alignment {
    const n1 = words1.length, n2 = words2.length;
    const identical = n1 === n2 && words1.every((w, i) => javaHash(w) === javaHash(words2[i]));
    // Identical sentences only need exact matches (this avoids beam search errors).
    const modsUsed = identical ? 1 : this.modules.length;
    const { matches, cov1, cov2 } = this.collect(words1, words2, modsUsed);

    // One-to-one matches without competition are fixed before the search.
    const start = new Path(new Array<Match | null>(n2).fill(null), new Uint8Array(n1), new Uint8Array(n2));
    for (let i = 0; i < n2; i++) {
      if (matches[i].length !== 1) continue;
      const m = matches[i][0];
      let overlap = false;
      for (let k = 0; k < m.length; k++) if (cov2[i + k] !== 1) overlap = true;
      for (let k = 0; k < m.matchLength; k++) if (cov1[m.matchStart + k] !== 1) overlap = true;
      if (!overlap) {
        start.matches[i] = m;
        start.setUsed(m);
      }
    }
    const best = this.resolve(matches, start, n2);

    const stats = alignmentStats(words1, words2, best.matches, this.modules.length, this.res.functionWords);
    return { stats, matches: best.matches };
  }

  /** The beam search over reference positions 0..n2. */
  private resolve(matches: Match[][], start: Path, n2: number): Path {
    const weight = this.modules.map((m) => SEARCH_WEIGHT[m]);
    let next: Path[] = [start];
    for (let current = 0; current <= n2; current++) {
      const paths = next;
      next = [];
      paths.sort(comparePaths);
      for (let rank = 0; rank < METEOR_BEAM && rank < paths.length; rank++) {
        const path = paths[rank];
        if (current === n2) {
          if (path.lastMatchEnd !== -1) path.chunks++;
          next.push(path);
          continue;
        }
        if (path.used2[current]) {
          if (current < path.idx) {
            next.push(path);
          } else if (path.matches[path.idx] !== null) {
            // A match fixed before the search.
            const m = path.matches[path.idx]!;
            path.add(m, weight[m.module]);
            path.distance += Math.abs(m.start - m.matchStart);
            next.push(path);
          }
          continue;
        }
        for (const m of matches[current]) {
          if (path.isUsed(m)) continue;
          const branch = path.copy();
          branch.setUsed(m);
          branch.matches[current] = m;
          branch.add(m, weight[m.module]);
          path.distance += Math.abs(m.start - m.matchStart); // sic: the original adds it to `path`
          next.push(branch);
        }
        // Or skip this position.
        if (path.lastMatchEnd !== -1) {
          path.chunks++;
          path.lastMatchEnd = -1;
        }
        path.idx++;
        next.push(path);
      }
      if (next.length === 0) next.push(paths[0]);
    }
    next.sort(comparePaths);
    return next[0];
  }
}
