/**
 * What both word aligners share (the search in `aligner.ts` and its plain twin `aligner_reference.ts`):
 * matches, the search weights and beam width, the alignment statistics Meteor keeps, and the final chunk
 * count. Meteor 1.5: `Match.java`, the end of `Aligner.align` and `Aligner.getCountAndChunks`.
 *
 * @module
 */
import type { MeteorResources } from "./resources.ts";

/** Matching modules, in Meteor's numbering. */
export type MeteorModule = "exact" | "stem" | "synonym" | "paraphrase";

/** One match: `length` reference words from `start` against `matchLength` test words from `matchStart`. */
export interface Match {
  start: number;
  length: number;
  matchStart: number;
  matchLength: number;
  /** Index of the module in the module list. */
  module: number;
}

/** Per-module counts of an alignment, as `Alignment` holds them. */
export interface AlignmentStats {
  testLength: number;
  referenceLength: number;
  testFunctionWords: number;
  referenceFunctionWords: number;
  /** Per module: matched content / function words of the test and of the reference. */
  testContent: number[];
  referenceContent: number[];
  testFunction: number[];
  referenceFunction: number[];
  chunks: number;
}

/** Search weight of each module (Meteor sets 1.0 for exact, 0.5 for the others, whatever the scoring weights). */
export const SEARCH_WEIGHT: Record<MeteorModule, number> = {
  exact: 1,
  stem: 0.5,
  synonym: 0.5,
  paraphrase: 0.5,
};

/** Beam width of the search (Meteor's `DEFAULT_BEAM_SIZE`). */
export const METEOR_BEAM = 40;

/** Checks that the resources hold what the modules need. */
export function checkModules(modules: readonly MeteorModule[], res: MeteorResources): void {
  if (modules.includes("paraphrase") && res.paraphrase === undefined) {
    throw new TypeError("Meteor: the paraphrase module needs a paraphrase table");
  }
}

/** Meteor's statistics of a final alignment (`matches[j]`: the match starting at reference word j, or null). */
export function alignmentStats(
  words1: readonly string[],
  words2: readonly string[],
  matches: readonly (Match | null)[],
  moduleCount: number,
  functionWords: ReadonlySet<string>,
): AlignmentStats {
  const isFn1 = words1.map((w) => functionWords.has(w.toLowerCase()));
  const isFn2 = words2.map((w) => functionWords.has(w.toLowerCase()));
  const stats: AlignmentStats = {
    testLength: words1.length,
    referenceLength: words2.length,
    testFunctionWords: isFn1.filter((x) => x).length,
    referenceFunctionWords: isFn2.filter((x) => x).length,
    testContent: new Array(moduleCount).fill(0),
    referenceContent: new Array(moduleCount).fill(0),
    testFunction: new Array(moduleCount).fill(0),
    referenceFunction: new Array(moduleCount).fill(0),
    chunks: countChunks(matches),
  };
  for (const m of matches) {
    if (m === null) continue;
    for (let k = 0; k < m.matchLength; k++) {
      if (isFn1[m.matchStart + k]) stats.testFunction[m.module]++;
      else stats.testContent[m.module]++;
    }
    for (let k = 0; k < m.length; k++) {
      if (isFn2[m.start + k]) stats.referenceFunction[m.module]++;
      else stats.referenceContent[m.module]++;
    }
  }
  return stats;
}

/** Number of chunks (runs of matches contiguous in both sentences) of a final alignment. */
export function countChunks(matches: readonly (Match | null)[]): number {
  let chunks = 0, idx = 0, lastMatchEnd = -1;
  while (idx < matches.length) {
    const m = matches[idx];
    if (m === null) {
      if (lastMatchEnd !== -1) {
        chunks++;
        lastMatchEnd = -1;
      }
      idx++;
    } else {
      if (lastMatchEnd !== -1 && m.matchStart !== lastMatchEnd) chunks++;
      idx = m.start + m.length;
      lastMatchEnd = m.matchStart + m.matchLength;
    }
  }
  if (lastMatchEnd !== -1) chunks++;
  return chunks;
}
