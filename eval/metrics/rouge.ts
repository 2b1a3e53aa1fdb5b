/**
 * ROUGE-L as coco-caption's `Rouge`: longest common subsequence of the candidate with each reference
 * (tokens from `split(" ")`, so an empty candidate is one empty token), the maximum precision and the
 * maximum recall over the references, F-measure with beta = 1.2; corpus = numpy mean of the images.
 *
 * @module
 */
import { npMean } from "./py_compat.ts";

/** coco-caption's beta of the LCS F-measure. */
export const ROUGE_BETA = 1.2;

/** Length of the longest common subsequence of two token lists. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  if (a.length < b.length) [a, b] = [b, a];
  // One row of the DP table over the shorter list: row[j] = LCS(a[0..i), b[0..j)).
  const row = new Int32Array(b.length + 1);
  for (let i = 0; i < a.length; i++) {
    let diag = 0; // LCS(a[0..i), b[0..j-1))
    const ai = a[i];
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = ai === b[j - 1] ? diag + 1 : (up > row[j - 1] ? up : row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

/** ROUGE-L of one candidate against its references (tokenized, space-separated strings). */
export function rougeL(candidate: string, references: readonly string[]): number {
  if (references.length === 0) throw new RangeError("rougeL: no references");
  const c = candidate.split(" ");
  let precMax = -Infinity, recMax = -Infinity;
  for (const ref of references) {
    const r = ref.split(" ");
    const lcs = lcsLength(r, c);
    const prec = lcs / c.length, rec = lcs / r.length;
    if (prec > precMax) precMax = prec;
    if (rec > recMax) recMax = rec;
  }
  if (precMax === 0 || recMax === 0) return 0;
  const b2 = ROUGE_BETA ** 2;
  return ((1 + b2) * precMax * recMax) / (recMax + b2 * precMax);
}

/** Corpus (numpy mean) and per-candidate ROUGE-L. */
export function rouge(
  candidates: readonly string[],
  references: readonly (readonly string[])[],
): { score: number; perImage: number[] } {
  if (candidates.length !== references.length) {
    throw new RangeError(`rouge: ${candidates.length} candidates but ${references.length} reference sets`);
  }
  const perImage = candidates.map((c, i) => rougeL(c, references[i]));
  return { score: npMean(perImage), perImage };
}
