/**
 * CIDEr-D exactly as coco-caption's `Cider` (the CIDEr-D formula): n = 1..4 tf-idf vectors with
 * idf = log(#documents) - log(max(1, df)), clipped similarity min(hyp, ref) * ref divided by the norms,
 * a Gaussian penalty on the difference of the BIGRAM counts (sigma = 6), averaged over n and over the
 * references, times 10. The document frequencies come from the references (one document per image),
 * or from any other reference collection (SCST computes them over the batch).
 *
 * @module
 */
import { ngramCounts } from "./bleu.ts";
import { cookCorpus, type CookedCorpus, type CookedIds } from "./ngram_ids.ts";
import { npMean, pySplit } from "./py_compat.ts";

/** Document frequencies and the log document count they were taken over. */
export interface CiderDf {
  /** n-gram (space-joined tokens) -> number of documents (images) whose references contain it. */
  readonly df: ReadonlyMap<string, number>;
  /** log(number of documents); coco-caption's `ref_len`. */
  readonly refLen: number;
}

/** Options of {@linkcode CiderD}. */
export interface CiderOptions {
  /** Highest n-gram order (default 4). */
  n?: number;
  /** Standard deviation of the length penalty (default 6). */
  sigma?: number;
}

/** Per-order n-gram counts of one tokenized sentence. */
type Cooked = Map<string, number>[];

/** tf-idf vectors per order, their norms and the bigram count ("length" in coco-caption). */
interface Vec {
  w: Map<string, number>[];
  norm: number[];
  length: number;
}

/**
 * Document frequencies over reference sets: `refs[i]` holds the (tokenized) references of document i.
 * An n-gram counts once per document however many of its references contain it.
 */
export function ciderDf(refs: readonly (readonly string[])[], n = 4): CiderDf {
  const df = new Map<string, number>();
  for (const doc of refs) {
    const seen = new Set<string>();
    for (const ref of doc) {
      for (const m of ngramCounts(pySplit(ref), n)) for (const g of m.keys()) seen.add(g);
    }
    for (const g of seen) df.set(g, (df.get(g) ?? 0) + 1);
  }
  return { df, refLen: Math.log(refs.length) };
}

/** A CIDEr-D scorer bound to one set of document frequencies. */
export class CiderD {
  readonly n: number;
  readonly sigma: number;
  readonly df: CiderDf;

  constructor(df: CiderDf, opts: CiderOptions = {}) {
    this.n = opts.n ?? 4;
    this.sigma = opts.sigma ?? 6;
    this.df = df;
  }

  /** Builds a scorer whose document frequencies come from `refs` (coco-caption's `df_mode="corpus"`). */
  static fromReferences(refs: readonly (readonly string[])[], opts: CiderOptions = {}): CiderD {
    return new CiderD(ciderDf(refs, opts.n ?? 4), opts);
  }

  private vec(cooked: Cooked): Vec {
    const { df, refLen } = this.df;
    const w: Map<string, number>[] = [], norm: number[] = [];
    let length = 0;
    for (let k = 0; k < this.n; k++) {
      const m = new Map<string, number>();
      let sq = 0;
      for (const [g, tf] of cooked[k]) {
        const v = tf * (refLen - Math.log(Math.max(1, df.get(g) ?? 0)));
        m.set(g, v);
        sq += v * v;
        if (k === 1) length += tf;
      }
      w.push(m);
      norm.push(Math.sqrt(sq));
    }
    return { w, norm, length };
  }

  /** CIDEr-D of one tokenized candidate against its tokenized references. */
  score(candidate: string, references: readonly string[]): number {
    if (references.length === 0) throw new RangeError("CiderD.score: no references");
    const hyp = this.vec(ngramCounts(pySplit(candidate), this.n));
    const acc = new Float64Array(this.n);
    const twoSigma2 = 2 * this.sigma ** 2;
    for (const r of references) {
      const ref = this.vec(ngramCounts(pySplit(r), this.n));
      const delta = hyp.length - ref.length;
      const penalty = Math.pow(Math.E, -(delta ** 2) / twoSigma2);
      for (let k = 0; k < this.n; k++) {
        let val = 0;
        const rw = ref.w[k];
        for (const [g, vh] of hyp.w[k]) {
          const vr = rw.get(g) ?? 0;
          val += Math.min(vh, vr) * vr;
        }
        if (hyp.norm[k] !== 0 && ref.norm[k] !== 0) val /= hyp.norm[k] * ref.norm[k];
        acc[k] += val * penalty;
      }
    }
    let avg = npMean(acc);
    avg /= references.length;
    return avg * 10;
  }
}

/**
 * Corpus and per-candidate CIDEr-D. Without `df`, the document frequencies come from `references`
 * (one document per candidate), as coco-caption does. With the default n and no external `df`, it runs
 * on integer n-gram ids; {@linkcode CiderD} is the plain string-keyed twin (and handles the other cases).
 */
export function ciderD(
  candidates: readonly string[],
  references: readonly (readonly string[])[],
  opts: CiderOptions & { df?: CiderDf; cooked?: CookedCorpus } = {},
): { score: number; perImage: number[] } {
  if (candidates.length !== references.length) {
    throw new RangeError(`ciderD: ${candidates.length} candidates but ${references.length} reference sets`);
  }
  if (opts.df !== undefined || (opts.n ?? 4) !== 4) {
    const scorer = new CiderD(opts.df ?? ciderDf(references, opts.n ?? 4), opts);
    const perImage = candidates.map((c, i) => scorer.score(c, references[i]));
    return { score: npMean(perImage), perImage };
  }
  const perImage = ciderCorpusIds(opts.cooked ?? cookCorpus(candidates, references), opts.sigma ?? 6);
  return { score: npMean(perImage), perImage };
}

/** tf-idf weights of one cooked sentence, per order in first-occurrence order, with norms and bigram count. */
interface IdVec {
  ids: number[][];
  w: number[][];
  norm: number[];
  length: number;
}

/** CIDEr-D of every candidate with corpus document frequencies, on integer n-gram ids. */
function ciderCorpusIds({ vocab, hyps, refs }: CookedCorpus, sigma: number): number[] {
  const N = 4;
  // Document frequency: an n-gram counts once per image whose references contain it.
  const df = vocab.size.map((n) => new Int32Array(n));
  const lastDoc = vocab.size.map((n) => new Int32Array(n).fill(-1));
  refs.forEach((doc, d) => {
    for (const r of doc) {
      for (let k = 0; k < N; k++) {
        for (const id of r.ids[k]) {
          if (lastDoc[k][id] !== d) {
            lastDoc[k][id] = d;
            df[k][id]++;
          }
        }
      }
    }
  });
  const refLen = Math.log(refs.length);
  const idf = df.map((a) => Float64Array.from(a, (x) => refLen - Math.log(Math.max(1, x))));
  const vec = (c: CookedIds): IdVec => {
    const w: number[][] = [], norm: number[] = [];
    let length = 0;
    for (let k = 0; k < N; k++) {
      const ids = c.ids[k], cnt = c.counts[k], out = new Array<number>(ids.length);
      let sq = 0;
      for (let j = 0; j < ids.length; j++) {
        const v = cnt[j] * idf[k][ids[j]];
        out[j] = v;
        sq += v * v;
        if (k === 1) length += cnt[j];
      }
      w.push(out);
      norm.push(Math.sqrt(sq));
    }
    return { ids: c.ids, w, norm, length };
  };
  const scratch = vocab.size.map((n) => new Float64Array(n));
  const twoSigma2 = 2 * sigma ** 2;
  const acc = new Float64Array(N);
  return hyps.map((h, i) => {
    const hv = vec(h);
    acc.fill(0);
    for (const rc of refs[i]) {
      const rv = vec(rc);
      const delta = hv.length - rv.length;
      const penalty = Math.pow(Math.E, -(delta ** 2) / twoSigma2);
      for (let k = 0; k < N; k++) {
        const sk = scratch[k], rids = rv.ids[k], rw = rv.w[k];
        for (let j = 0; j < rids.length; j++) sk[rids[j]] = rw[j];
        let val = 0;
        const hids = hv.ids[k], hw = hv.w[k];
        for (let j = 0; j < hids.length; j++) {
          const vr = sk[hids[j]];
          val += Math.min(hw[j], vr) * vr;
        }
        for (let j = 0; j < rids.length; j++) sk[rids[j]] = 0;
        if (hv.norm[k] !== 0 && rv.norm[k] !== 0) val /= hv.norm[k] * rv.norm[k];
        acc[k] += val * penalty;
      }
    }
    let avg = npMean(acc);
    avg /= refs[i].length;
    return avg * 10;
  });
}
