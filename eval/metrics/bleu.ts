/**
 * BLEU-1..4 exactly as coco-caption's `BleuScorer` computes it with option "closest": per-sentence
 * clipped n-gram counts against the per-n-gram maximum over the references, the reference length
 * closest to the hypothesis length (ties to the shorter one), corpus precision from the summed integer
 * counts, and the same 1e-9 / 1e-15 smoothing constants in the per-image and corpus values.
 *
 * @module
 */
import { cookCorpus, type CookedCorpus } from "./ngram_ids.ts";
import { pySplit } from "./py_compat.ts";

/** Highest n-gram order of coco-caption's BLEU. */
export const BLEU_N = 4;

/** Integer statistics of one hypothesis (or of the corpus, summed). */
export interface BleuCounts {
  /** Hypothesis length in tokens. */
  testlen: number;
  /** Effective reference length ("closest"). */
  reflen: number;
  /** Hypothesis n-grams per order: `max(0, testlen - n + 1)`, n = 1..4. */
  guess: number[];
  /** Clipped matching n-grams per order. */
  correct: number[];
}

/** Result of {@linkcode bleu}. */
export interface BleuResult {
  /** Corpus BLEU-1..4. */
  score: number[];
  /** Per-hypothesis BLEU-1..4 (`perImage[i][n-1]`). */
  perImage: number[][];
  /** Summed counts as coco-caption prints them. */
  counts: BleuCounts;
}

const SMALL = 1e-9;
const TINY = 1e-15;

/** Counts every n-gram (n = 1..maxN) of a token list, keyed by the space-joined tokens. */
export function ngramCounts(words: readonly string[], maxN: number): Map<string, number>[] {
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= maxN; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= words.length; i++) {
      const key = n === 1 ? words[i] : words.slice(i, i + n).join(" ");
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

/** Clipped n-gram statistics of one hypothesis against its references (both whitespace-tokenized strings). */
export function bleuCounts(hypothesis: string, references: readonly string[]): BleuCounts {
  const refLens: number[] = [];
  const maxRef: Map<string, number>[] = [];
  for (let n = 0; n < BLEU_N; n++) maxRef.push(new Map());
  for (const ref of references) {
    const words = pySplit(ref);
    refLens.push(words.length);
    const counts = ngramCounts(words, BLEU_N);
    for (let n = 0; n < BLEU_N; n++) {
      const max = maxRef[n];
      for (const [g, c] of counts[n]) if (c > (max.get(g) ?? 0)) max.set(g, c);
    }
  }
  const words = pySplit(hypothesis);
  const testlen = words.length;
  // "closest": min over (|l - testlen|, l), so ties go to the shorter reference.
  let reflen = refLens[0];
  for (const l of refLens) {
    const d = Math.abs(l - testlen), best = Math.abs(reflen - testlen);
    if (d < best || (d === best && l < reflen)) reflen = l;
  }
  const counts = ngramCounts(words, BLEU_N);
  const guess: number[] = [], correct: number[] = [];
  for (let n = 0; n < BLEU_N; n++) {
    guess.push(Math.max(0, testlen - n));
    let c = 0;
    for (const [g, k] of counts[n]) c += Math.min(maxRef[n].get(g) ?? 0, k);
    correct.push(c);
  }
  return { testlen, reflen, guess, correct };
}

/** BLEU-1..4 of one set of counts, with coco-caption's smoothing and brevity penalty. */
export function bleuFromCounts(c: BleuCounts): number[] {
  const out: number[] = [];
  let prod = 1;
  for (let n = 0; n < BLEU_N; n++) {
    prod *= (c.correct[n] + TINY) / (c.guess[n] + SMALL);
    out.push(prod ** (1 / (n + 1)));
  }
  const ratio = (c.testlen + TINY) / (c.reflen + SMALL);
  if (ratio < 1) {
    const bp = Math.exp(1 - 1 / ratio);
    for (let n = 0; n < BLEU_N; n++) out[n] *= bp;
  }
  return out;
}

/**
 * Corpus and per-hypothesis BLEU-1..4 (coco-caption `Bleu(4)`, option "closest").
 * `hypotheses[i]` is scored against `references[i]`; all strings are already tokenized (space separated).
 * Uses integer n-gram ids (pass `cooked` to share them with CIDEr-D); {@linkcode bleuReference} is the
 * plain string-keyed twin.
 */
export function bleu(
  hypotheses: readonly string[],
  references: readonly (readonly string[])[],
  cooked?: CookedCorpus,
): BleuResult {
  if (hypotheses.length !== references.length) {
    throw new RangeError(`bleu: ${hypotheses.length} hypotheses but ${references.length} reference sets`);
  }
  references.forEach((r, i) => {
    if (r.length === 0) throw new RangeError(`bleu: hypothesis ${i} has no references`);
  });
  const { vocab, hyps, refs: allRefs } = cooked ?? cookCorpus(hypotheses, references);
  const total: BleuCounts = { testlen: 0, reflen: 0, guess: [0, 0, 0, 0], correct: [0, 0, 0, 0] };
  const perImage: number[][] = [];
  const maxRef = vocab.size.map((n) => new Int32Array(n)); // scratch, zero between images
  for (let i = 0; i < hypotheses.length; i++) {
    const refs = allRefs[i], hyp = hyps[i];
    for (const r of refs) {
      for (let n = 0; n < BLEU_N; n++) {
        const ids = r.ids[n], cnt = r.counts[n], max = maxRef[n];
        for (let j = 0; j < ids.length; j++) if (cnt[j] > max[ids[j]]) max[ids[j]] = cnt[j];
      }
    }
    const testlen = hyp.length;
    let reflen = refs[0].length;
    for (const r of refs) {
      const d = Math.abs(r.length - testlen), best = Math.abs(reflen - testlen);
      if (d < best || (d === best && r.length < reflen)) reflen = r.length;
    }
    const c: BleuCounts = { testlen, reflen, guess: [], correct: [] };
    for (let n = 0; n < BLEU_N; n++) {
      c.guess.push(Math.max(0, testlen - n));
      let k = 0;
      const ids = hyp.ids[n], cnt = hyp.counts[n], max = maxRef[n];
      for (let j = 0; j < ids.length; j++) k += Math.min(max[ids[j]], cnt[j]);
      c.correct.push(k);
    }
    for (const r of refs) for (let n = 0; n < BLEU_N; n++) for (const id of r.ids[n]) maxRef[n][id] = 0;
    addCounts(total, c);
    perImage.push(bleuFromCounts(c));
  }
  return { score: bleuFromCounts(total), perImage, counts: total };
}

/** Adds the counts of one hypothesis to a running total. */
function addCounts(total: BleuCounts, c: BleuCounts): void {
  total.testlen += c.testlen;
  total.reflen += c.reflen;
  for (let n = 0; n < BLEU_N; n++) {
    total.guess[n] += c.guess[n];
    total.correct[n] += c.correct[n];
  }
}

/** BLEU through {@linkcode bleuCounts} (string-keyed maps): the plain reference twin of {@linkcode bleu}. */
export function bleuReference(
  hypotheses: readonly string[],
  references: readonly (readonly string[])[],
): BleuResult {
  const total: BleuCounts = { testlen: 0, reflen: 0, guess: [0, 0, 0, 0], correct: [0, 0, 0, 0] };
  const perImage: number[][] = [];
  for (let i = 0; i < hypotheses.length; i++) {
    const c = bleuCounts(hypotheses[i], references[i]);
    addCounts(total, c);
    perImage.push(bleuFromCounts(c));
  }
  return { score: bleuFromCounts(total), perImage, counts: total };
}
