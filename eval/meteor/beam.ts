/**
 * Meteor 1.5's beam search (`Aligner.resolve`) with the same result in bounded memory and time linear in
 * the number of candidate matches.
 *
 * The original expands the 40 best paths at each reference position into one new path per candidate
 * match (copying arrays over both sentences for each), sorts all of them and keeps the 40 best. Only those
 * 40 can ever matter, so here every candidate is first scored from its parent without building it
 * (weighted matches, chunks, distance: all known from the parent and the match), the 40 best by the
 * original's order (more weighted matches, fewer chunks, less distance, then first pushed, as a stable
 * sort leaves ties) are kept in a heap, and only those become paths. Paths are immutable and share their
 * used-word sets ({@linkcode PersistentSets}) and their chosen matches (a linked list), so a path costs
 * O(log n) to make, not O(n).
 *
 * What a path needs to know about used reference words follows from the left-to-right order: chosen
 * matches all start before the current position, so a reference word at or after it is used only by a
 * match fixed before the search, or by the last chosen match when the path's `idx` lies beyond it. Test
 * words of fixed matches never appear in another candidate (their coverage is 1), so the used test words
 * that can block a candidate are exactly the path's chosen ones.
 *
 * Distances are kept exact (the original's Java `int` would wrap past 2^31, which only sentences of tens
 * of thousands of repeated words reach; the original's order is undefined there).
 *
 * @module
 */
import { type Match, METEOR_BEAM } from "./alignment.ts";
import { PersistentSets } from "./persistent_set.ts";
import type { Block, Stage } from "./stage.ts";

/** A chosen match and the ones chosen before it. */
interface Chosen {
  m: Match;
  prev: Chosen | null;
}

/** An immutable search path (Meteor's `PartialAlignment` without its arrays). */
interface Path {
  /** Weighted matched words of the test and the reference (Java: `int += double`, truncated). */
  m1: number;
  m2: number;
  chunks: number;
  idx: number;
  lastMatchEnd: number;
  distance: number;
  /** Test words used by chosen matches (a persistent set). */
  used1: unknown;
  chosen: Chosen | null;
}

const PASS = 0, FIXED = 1, BRANCH = 2, SKIP = 3;

/** A scored candidate path, not yet built. */
interface Candidate {
  m1: number;
  m2: number;
  chunks: number;
  distance: number;
  /** Push order in the original's list of next paths. */
  seq: number;
  kind: number;
  parent: Path;
  /** BRANCH: the block and entry of the match; FIXED: the fixed match. */
  block: Block | null;
  entry: number;
  fixed: Match | null;
}

/** Whether candidate `a` sorts after `b` (Meteor's `PARTIAL_COMPARE_TOTAL`, ties by push order). */
function after(a: Candidate, b: Candidate): boolean {
  const sa = a.m1 + a.m2, sb = b.m1 + b.m2;
  if (sa !== sb) return sa < sb;
  if (a.chunks !== b.chunks) return a.chunks > b.chunks;
  if (a.distance !== b.distance) return a.distance > b.distance;
  return a.seq > b.seq;
}

/** The best `capacity` candidates of one step: a heap with the worst on top. */
class Beam {
  readonly heap: Candidate[] = [];
  constructor(private readonly capacity: number) {}

  /** Whether a candidate with this key, pushed now, would be kept (ties with the worst lose: later push). */
  wouldKeep(m1: number, m2: number, chunks: number, distance: number): boolean {
    if (this.heap.length < this.capacity) return true;
    const w = this.heap[0], s = m1 + m2, sw = w.m1 + w.m2;
    if (s !== sw) return s > sw;
    if (chunks !== w.chunks) return chunks < w.chunks;
    return distance < w.distance;
  }

  offer(c: Candidate): void {
    const h = this.heap;
    if (h.length < this.capacity) {
      h.push(c);
      let i = h.length - 1;
      while (i > 0) {
        const up = (i - 1) >> 1;
        if (!after(h[i], h[up])) break;
        [h[i], h[up]] = [h[up], h[i]];
        i = up;
      }
      return;
    }
    h[0] = c;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let top = i;
      if (l < h.length && after(h[l], h[top])) top = l;
      if (r < h.length && after(h[r], h[top])) top = r;
      if (top === i) break;
      [h[i], h[top]] = [h[top], h[i]];
      i = top;
    }
  }

  /** The kept candidates, best first. */
  sorted(): Candidate[] {
    return [...this.heap].sort((a, b) => (after(a, b) ? 1 : after(b, a) ? -1 : 0));
  }
}

/** Work counters of the search (cumulative over calls). */
export interface BeamCounters {
  /** Candidate paths scored (branches, skips, continuations). */
  scored: number;
  /** Paths built. */
  built: number;
}

/**
 * The beam search over the reference positions of `stage`: returns the chosen alignment as Meteor's
 * `matches` array (the match starting at each reference position, or null), fixed matches included.
 */
export function beamSearch(
  stage: Stage,
  n1: number,
  fixedAt: readonly (Match | null)[],
  weights: readonly number[],
  counters: BeamCounters,
): (Match | null)[] {
  const n2 = stage.blocks.length;
  const sets = new PersistentSets(n1);
  const fixed2 = new Uint8Array(n2);
  for (const m of fixedAt) if (m !== null) fixed2.fill(1, m.start, m.start + m.length);

  let paths: Path[] = [{
    m1: 0,
    m2: 0,
    chunks: 0,
    idx: 0,
    lastMatchEnd: -1,
    distance: 0,
    used1: undefined,
    chosen: null,
  }];
  const beam = new Beam(METEOR_BEAM);
  let seq = 0;
  /** Scores one candidate of the current step (pushed in the original's order) and keeps it if it ranks. */
  const offer = (
    kind: number,
    parent: Path,
    m1: number,
    m2: number,
    chunks: number,
    distance: number,
    block: Block | null,
    entry: number,
    fixed: Match | null,
  ) => {
    counters.scored++;
    if (beam.wouldKeep(m1, m2, chunks, distance)) {
      beam.offer({ m1, m2, chunks, distance, seq, kind, parent, block, entry, fixed });
    }
    seq++;
  };
  for (let current = 0; current < n2; current++) {
    beam.heap.length = 0;
    seq = 0;
    for (let rank = 0; rank < METEOR_BEAM && rank < paths.length; rank++) {
      const p = paths[rank];
      if (current < p.idx || fixed2[current] === 1) {
        // The current reference word is in use: inside a match, or the start of a fixed one.
        if (current < p.idx) offer(PASS, p, p.m1, p.m2, p.chunks, p.distance, null, -1, null);
        else if (fixedAt[p.idx] !== null) {
          const m = fixedAt[p.idx]!, w = weights[m.module];
          const chunks = p.chunks + (p.lastMatchEnd !== -1 && m.matchStart !== p.lastMatchEnd ? 1 : 0);
          offer(
            FIXED,
            p,
            Math.trunc(p.m1 + m.matchLength * w),
            Math.trunc(p.m2 + m.length * w),
            chunks,
            p.distance + Math.abs(m.start - m.matchStart),
            null,
            -1,
            m,
          );
        }
        continue;
      }
      let distance = p.distance;
      for (const b of stage.blocks[current]) {
        const w = weights[b.module], at = b.at;
        if (b.len1 === null && b.len2 === null) {
          // Single-word matches: one score for the whole block; chunks depend on contiguity only.
          const m1 = Math.trunc(p.m1 + w), m2 = Math.trunc(p.m2 + w);
          for (let e = 0; e < at.length; e++) {
            const i = at[e];
            if (sets.has(p.used1, i)) continue;
            const chunks = p.chunks + (p.lastMatchEnd !== -1 && i !== p.lastMatchEnd ? 1 : 0);
            offer(BRANCH, p, m1, m2, chunks, distance, b, e, null);
            distance += Math.abs(current - i); // sic: the original adds it to the path that skips
          }
          continue;
        }
        for (let e = 0; e < at.length; e++) {
          const i = at[e], l1 = b.len1 === null ? 1 : b.len1[e], l2 = b.len2 === null ? 1 : b.len2[e];
          let used = false;
          for (let k = 1; k < l2 && !used; k++) used = fixed2[current + k] === 1;
          for (let k = 0; k < l1 && !used; k++) used = sets.has(p.used1, i + k);
          if (used) continue;
          const chunks = p.chunks + (p.lastMatchEnd !== -1 && i !== p.lastMatchEnd ? 1 : 0);
          offer(
            BRANCH,
            p,
            Math.trunc(p.m1 + l1 * w),
            Math.trunc(p.m2 + l2 * w),
            chunks,
            distance,
            b,
            e,
            null,
          );
          distance += Math.abs(current - i);
        }
      }
      offer(SKIP, p, p.m1, p.m2, p.chunks + (p.lastMatchEnd !== -1 ? 1 : 0), distance, null, -1, null);
    }
    const kept = beam.sorted();
    paths = kept.length === 0 ? [paths[0]] : kept.map((c) => build(c, current, sets, counters));
  }

  // Close the last chunk of each path; the best one wins (first on ties).
  let best: Path | null = null, bestChunks = 0;
  for (let rank = 0; rank < METEOR_BEAM && rank < paths.length; rank++) {
    const p = paths[rank], chunks = p.chunks + (p.lastMatchEnd !== -1 ? 1 : 0);
    if (best === null || p.m1 + p.m2 > best.m1 + best.m2) {
      best = p;
      bestChunks = chunks;
    } else if (
      p.m1 + p.m2 === best.m1 + best.m2 &&
      (chunks < bestChunks || (chunks === bestChunks && p.distance < best.distance))
    ) {
      best = p;
      bestChunks = chunks;
    }
  }
  const matches = fixedAt.slice();
  for (let c = best!.chosen; c !== null; c = c.prev) matches[c.m.start] = c.m;
  return matches;
}

/** Builds the path of a kept candidate. */
function build(c: Candidate, current: number, sets: PersistentSets, counters: BeamCounters): Path {
  const p = c.parent;
  if (c.kind === PASS) return p;
  counters.built++;
  let idx: number, lastMatchEnd: number, used1 = p.used1, chosen = p.chosen;
  if (c.kind === SKIP) {
    idx = p.idx + 1;
    lastMatchEnd = -1;
  } else if (c.kind === FIXED) {
    const m = c.fixed!;
    idx = m.start + m.length;
    lastMatchEnd = m.matchStart + m.matchLength;
  } else {
    const b = c.block!, i = b.at[c.entry];
    const m: Match = {
      start: current,
      length: b.len2 === null ? 1 : b.len2[c.entry],
      matchStart: i,
      matchLength: b.len1 === null ? 1 : b.len1[c.entry],
      module: b.module,
    };
    for (let k = 0; k < m.matchLength; k++) used1 = sets.add(used1, i + k);
    chosen = { m, prev: p.chosen };
    idx = m.start + m.length;
    lastMatchEnd = m.matchStart + m.matchLength;
  }
  return { m1: c.m1, m2: c.m2, chunks: c.chunks, idx, lastMatchEnd, distance: c.distance, used1, chosen };
}
