/**
 * The candidate matches of one test sentence against one reference (Meteor 1.5's `Stage` and the
 * `ExactMatcher`, `StemMatcher`, `SynonymMatcher`, `ParaphraseMatcher`), found through indexes instead of
 * comparing every test word with every reference word:
 *   - the test sentence is indexed once ({@linkcode TestSentence}) and reused for all its references:
 *     positions by word hash, by stem hash, by distinct word, synset -> distinct words, paraphrase ids;
 *   - the matches of one module at one reference position are a {@linkcode Block}: the test positions in
 *     ascending order, the order in which the original's nested loops find them. Blocks of single-word
 *     matches are shared by every reference position with the same word, so memory stays linear in the
 *     sentence lengths however many candidate pairs there are.
 *
 * The work (candidate matches, plus positions probed for multi-word paraphrases) is counted, and past
 * `limit` a {@linkcode MeteorWorkLimitError} stops the alignment before the search.
 *
 * @module
 */
import type { Match, MeteorModule } from "./alignment.ts";
import { javaHash } from "./java_compat.ts";
import type { ParaphraseTable } from "./resources.ts";

/** The matches of one module starting at one reference position. */
export interface Block {
  module: number;
  /** Test start positions, in the original's order (ascending for single-word modules). */
  at: readonly number[];
  /** Test words per match; null: one each. */
  len1: readonly number[] | null;
  /** Reference words per match; null: one each. */
  len2: readonly number[] | null;
}

/** All candidate matches of a sentence pair. */
export interface Stage {
  /** Per reference position, its blocks in module order. */
  blocks: Block[][];
  /** Work counted against the limit: candidate matches + paraphrase probes. */
  work: number;
}

/** The alignment would need more work than allowed. */
export class MeteorWorkLimitError extends RangeError {
  constructor(message: string, readonly work: number, readonly limit: number) {
    super(message);
    this.name = "MeteorWorkLimitError";
  }
}

/** Positions grouped by value (each group ascending). */
function groupPositions(values: ArrayLike<number>): Map<number, number[]> {
  const lists = new Map<number, number[]>();
  for (let i = 0; i < values.length; i++) {
    const l = lists.get(values[i]);
    if (l === undefined) lists.set(values[i], [i]);
    else l.push(i);
  }
  return lists;
}

/** Below this many distinct test words, synonyms are found by comparing word pairs, not by an index. */
const SYNONYM_INDEX_MIN_WORDS = 64;

/** What a {@linkcode TestSentence} needs from the aligner (cached lookups). */
export interface WordLookups {
  stemKey(word: string): number;
  synSets(word: string): ReadonlySet<number>;
  paraphrase?: ParaphraseTable;
}

/** A test sentence indexed for matching against any number of references. */
export class TestSentence {
  readonly words: readonly string[];
  readonly keys: Int32Array;
  readonly byKey: Map<number, number[]>;
  /** Distinct word id of each position, and the positions of each distinct word. */
  readonly wordId: Int32Array;
  readonly positionsOf: number[][] = [];
  private readonly distinct: string[] = [];
  private readonly lookups: WordLookups;
  private byStem?: Map<number, number[]>;
  private synIndex?: Map<number, number[]>;
  private paraIndex?: { line: Int32Array; byId: Map<number, number[]> };

  constructor(words: readonly string[], lookups: WordLookups) {
    this.words = words;
    this.lookups = lookups;
    this.keys = Int32Array.from(words, javaHash);
    this.byKey = groupPositions(this.keys);
    const ids = new Map<string, number>();
    this.wordId = new Int32Array(words.length);
    words.forEach((w, i) => {
      let id = ids.get(w);
      if (id === undefined) {
        ids.set(w, id = this.distinct.length);
        this.distinct.push(w);
        this.positionsOf.push([]);
      }
      this.wordId[i] = id;
      this.positionsOf[id].push(i);
    });
  }

  /** Positions by stem hash. */
  stems(): Map<number, number[]> {
    if (this.byStem === undefined) {
      const perWord = this.distinct.map((w) => this.lookups.stemKey(w));
      this.byStem = groupPositions(Int32Array.from(this.wordId, (d) => perWord[d]));
    }
    return this.byStem;
  }

  /**
   * The distinct test words that share a synset (their own or their base form's) with `word`, in
   * first-appearance order.
   */
  synonymsOf(word: string): number[] {
    const sets2 = this.lookups.synSets(word);
    const out: number[] = [];
    if (sets2.size === 0) return out;
    if (this.distinct.length < SYNONYM_INDEX_MIN_WORDS) {
      for (let d = 0; d < this.distinct.length; d++) {
        for (const s of this.lookups.synSets(this.distinct[d])) {
          if (sets2.has(s)) {
            out.push(d);
            break;
          }
        }
      }
      return out;
    }
    if (this.synIndex === undefined) {
      this.synIndex = new Map();
      for (let d = 0; d < this.distinct.length; d++) {
        for (const s of this.lookups.synSets(this.distinct[d])) {
          const l = this.synIndex.get(s);
          if (l === undefined) this.synIndex.set(s, [d]);
          else l.push(d);
        }
      }
    }
    const marked = new Set<number>();
    for (const s of sets2) for (const d of this.synIndex.get(s) ?? []) marked.add(d);
    return [...marked];
  }

  /** Paraphrase-table word ids of the positions, and positions by id. */
  paraphraseIds(): { line: Int32Array; byId: Map<number, number[]> } {
    if (this.paraIndex === undefined) {
      const pt = this.lookups.paraphrase!;
      const line = Int32Array.from(this.words, (w) => pt.translate(w));
      this.paraIndex = { line, byId: groupPositions(line) };
    }
    return this.paraIndex;
  }
}

/** Collects the candidate matches of `test` against `ref` for the first `modsUsed` modules. */
export function collectStage(
  test: TestSentence,
  ref: readonly string[],
  modules: readonly MeteorModule[],
  modsUsed: number,
  lookups: WordLookups,
  limit: number,
): Stage {
  const n2 = ref.length;
  const keys2 = Int32Array.from(ref, javaHash);
  const blocks: Block[][] = Array.from({ length: n2 }, () => []);
  let work = 0;
  const charge = (n: number) => {
    work += n;
    if (work > limit) {
      throw new MeteorWorkLimitError(`more than ${limit} candidate word matches`, work, limit);
    }
  };
  const push = (j: number, b: Block) => {
    charge(b.at.length);
    blocks[j].push(b);
  };
  for (let mod = 0; mod < modsUsed; mod++) {
    const kind = modules[mod];
    if (kind === "exact") {
      for (let j = 0; j < n2; j++) {
        const at = test.byKey.get(keys2[j]);
        if (at !== undefined) push(j, { module: mod, at, len1: null, len2: null });
      }
    } else if (kind === "stem") {
      const byStem = test.stems();
      // Same stem, different word: shared by the reference positions with the same (stem, word) hashes.
      const cache = new Map<number, Map<number, number[]>>();
      for (let j = 0; j < n2; j++) {
        const s2 = lookups.stemKey(ref[j]), k2 = keys2[j];
        const group = byStem.get(s2);
        if (group === undefined) continue;
        let byWord = cache.get(s2);
        if (byWord === undefined) cache.set(s2, byWord = new Map());
        let at = byWord.get(k2);
        if (at === undefined) {
          at = group.filter((i) => test.keys[i] !== k2);
          byWord.set(k2, at);
        }
        if (at.length > 0) push(j, { module: mod, at, len1: null, len2: null });
      }
    } else if (kind === "synonym") {
      // Shared by the reference positions with the same word.
      const cache = new Map<string, number[]>();
      for (let j = 0; j < n2; j++) {
        let at = cache.get(ref[j]);
        if (at === undefined) {
          at = [];
          for (const d of test.synonymsOf(ref[j])) {
            const pos = test.positionsOf[d];
            if (test.keys[pos[0]] !== keys2[j]) { for (const i of pos) at.push(i); }
          }
          at.sort((x, y) => x - y);
          cache.set(ref[j], at);
        }
        if (at.length > 0) push(j, { module: mod, at, len1: null, len2: null });
      }
    } else {
      paraphraseBlocks(test, ref, mod, lookups.paraphrase!, blocks, charge);
    }
  }

  return { blocks, work };
}

/**
 * The matches fixed before the search (Meteor's "one-to-one, non-overlapping matches are definite"): at a
 * reference position with exactly one candidate, that candidate when no other candidate covers any of its
 * words. Coverage is counted only for the test words of such candidates, so the cost is one pass over the
 * candidates and no array over the test sentence.
 */
export function fixedMatches(stage: Stage): (Match | null)[] {
  const n2 = stage.blocks.length;
  const single: (Match | null)[] = stage.blocks.map((bs, j) => {
    if (bs.length !== 1 || bs[0].at.length !== 1) return null;
    const b = bs[0];
    return {
      start: j,
      length: b.len2 === null ? 1 : b.len2[0],
      matchStart: b.at[0],
      matchLength: b.len1 === null ? 1 : b.len1[0],
      module: b.module,
    };
  });
  const cov1 = new Map<number, number>(), cov2 = new Int32Array(n2);
  for (const m of single) {
    if (m !== null) { for (let k = 0; k < m.matchLength; k++) cov1.set(m.matchStart + k, 0); }
  }
  if (cov1.size === 0) return single;
  stage.blocks.forEach((bs, j) => {
    for (const b of bs) {
      for (let e = 0; e < b.at.length; e++) {
        const l1 = b.len1 === null ? 1 : b.len1[e], l2 = b.len2 === null ? 1 : b.len2[e];
        for (let k = 0; k < l1; k++) {
          const c = cov1.get(b.at[e] + k);
          if (c !== undefined) cov1.set(b.at[e] + k, c + 1);
        }
        for (let k = 0; k < l2; k++) cov2[j + k]++;
      }
    }
  });
  return single.map((m) => {
    if (m === null) return null;
    for (let k = 0; k < m.length; k++) if (cov2[m.start + k] !== 1) return null;
    for (let k = 0; k < m.matchLength; k++) if (cov1.get(m.matchStart + k) !== 1) return null;
    return m;
  });
}

/** Whether `words` occur in `line` from `at` on. */
function occursAt(line: Int32Array, at: number, words: Int32Array): boolean {
  for (let k = 0; k < words.length; k++) {
    if (at + k === line.length || line[at + k] !== words[k]) return false;
  }
  return true;
}

/**
 * The paraphrase module: paraphrases in the test of reference phrases (per reference position, per
 * paraphrase, test positions ascending), then paraphrases in the reference of test phrases (per test
 * position, per paraphrase, reference positions ascending), appended per reference start as the
 * original appends them. Occurrences are looked up from the positions of the paraphrase's first word.
 */
function paraphraseBlocks(
  test: TestSentence,
  ref: readonly string[],
  mod: number,
  pt: ParaphraseTable,
  blocks: Block[][],
  charge: (n: number) => void,
): void {
  const n2 = ref.length;
  const { line: line1, byId: byId1 } = test.paraphraseIds();
  const line2 = Int32Array.from(ref, (w) => pt.translate(w));
  const found: { at: number[]; len1: number[]; len2: number[] }[] = Array.from(
    { length: n2 },
    () => ({ at: [], len1: [], len2: [] }),
  );
  const add = (j: number, i: number, len1: number, len2: number) => {
    found[j].at.push(i);
    found[j].len1.push(len1);
    found[j].len2.push(len2);
  };
  // Phrases of `from` with their paraphrases found in `into` (positions ascending), in the original's order.
  const scan = (
    from: Int32Array,
    into: Int32Array,
    intoById: Map<number, number[]>,
    match: (fromPos: number, phraseLen: number, intoPos: number, parLen: number) => void,
  ) => {
    const all = Array.from({ length: into.length }, (_, k) => k);
    for (let a = 0; a < from.length; a++) {
      const pars = pt.paths(from, a);
      for (let p = 0; p < pars.length; p += 2) {
        const words = pt.paraphrase(pars[p + 1]);
        const starts = words.length === 0 ? all : intoById.get(words[0]) ?? [];
        charge(starts.length);
        for (const b of starts) if (occursAt(into, b, words)) match(a, pars[p], b, words.length);
      }
    }
  };
  scan(line2, line1, byId1, (j, len2, i, len1) => add(j, i, len1, len2));
  scan(line1, line2, groupPositions(line2), (i, len1, j, len2) => add(j, i, len1, len2));
  found.forEach((f, j) => {
    if (f.at.length === 0) return;
    blocks[j].push({ module: mod, at: f.at, len1: f.len1, len2: f.len2 });
  });
}
