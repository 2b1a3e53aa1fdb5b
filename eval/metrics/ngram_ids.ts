/**
 * Integer ids for n-grams, for the fast corpus paths of BLEU and CIDEr-D: every token gets an id, and an
 * n-gram of order k+1 gets an id from (id of its first k tokens, id of its last token). Ids are dense
 * per order, so per-n-gram data lives in typed arrays instead of string-keyed maps.
 *
 * @module
 */
import { pySplit } from "./py_compat.ts";

/** The n-grams of one sentence, per order: distinct ids in first-occurrence order and their counts. */
export interface CookedIds {
  ids: number[][];
  counts: number[][];
  /** Number of tokens. */
  length: number;
}

/** Open-addressing hash map from a pair of non-negative int32 to an int32 (linear probing). */
class PairMap {
  private a = new Int32Array(1 << 12).fill(-1);
  private b = new Int32Array(1 << 12);
  private v = new Int32Array(1 << 12);
  private n = 0;

  /** The value of (x, y), or -1. When absent and `insert` >= 0, stores `insert` and returns -1. */
  lookup(x: number, y: number, insert: number): number {
    let mask = this.a.length - 1;
    let h = (Math.imul(x, 0x9e3779b1) ^ Math.imul(y, 0x85ebca6b)) & mask;
    while (this.a[h] !== -1) {
      if (this.a[h] === x && this.b[h] === y) return this.v[h];
      h = (h + 1) & mask;
    }
    if (insert < 0) return -1;
    this.a[h] = x;
    this.b[h] = y;
    this.v[h] = insert;
    if (++this.n * 2 > this.a.length) {
      const [oa, ob, ov] = [this.a, this.b, this.v];
      this.a = new Int32Array(oa.length * 2).fill(-1);
      this.b = new Int32Array(oa.length * 2);
      this.v = new Int32Array(oa.length * 2);
      mask = this.a.length - 1;
      for (let i = 0; i < oa.length; i++) {
        if (oa[i] === -1) continue;
        let k = (Math.imul(oa[i], 0x9e3779b1) ^ Math.imul(ob[i], 0x85ebca6b)) & mask;
        while (this.a[k] !== -1) k = (k + 1) & mask;
        this.a[k] = oa[i];
        this.b[k] = ob[i];
        this.v[k] = ov[i];
      }
    }
    return -1;
  }
}

/** Interns tokens and n-grams (orders 1..maxN) into dense integer ids. */
export class NgramIds {
  readonly maxN: number;
  private tokens = new Map<string, number>();
  private orders: PairMap[] = [];
  /** Number of ids handed out per order. */
  readonly size: number[];
  /** Scratch: per order, position+1 of an id in the sentence being cooked (0 = absent). */
  private slot: Int32Array[];

  constructor(maxN = 4) {
    this.maxN = maxN;
    this.size = new Array(maxN).fill(0);
    for (let k = 1; k < maxN; k++) this.orders.push(new PairMap());
    this.slot = Array.from({ length: maxN }, () => new Int32Array(1024));
  }

  private token(w: string): number {
    let id = this.tokens.get(w);
    if (id === undefined) {
      id = this.size[0]++;
      this.tokens.set(w, id);
    }
    return id;
  }

  /** Splits `sentence` like Python's `str.split()` and counts its n-grams by id. */
  cook(sentence: string): CookedIds {
    const words = pySplit(sentence);
    const L = words.length;
    // Plain arrays: typed arrays are slow to allocate at these tiny sizes.
    const tok: number[] = new Array(L);
    for (let i = 0; i < L; i++) tok[i] = this.token(words[i]);
    let grams = tok;
    const ids: number[][] = [], counts: number[][] = [];
    for (let k = 0; k < this.maxN; k++) {
      if (k > 0) {
        const n = L - k > 0 ? L - k : 0;
        const next: number[] = new Array(n);
        const pm = this.orders[k - 1];
        for (let i = 0; i < n; i++) {
          const found = pm.lookup(grams[i], tok[i + k], this.size[k]);
          next[i] = found >= 0 ? found : this.size[k]++;
        }
        grams = next;
      }
      let slot = this.slot[k];
      if (slot.length < this.size[k]) {
        const bigger = new Int32Array(Math.max(this.size[k], 2 * slot.length));
        bigger.set(slot);
        this.slot[k] = slot = bigger;
      }
      const uniq: number[] = [], cnt: number[] = [];
      for (let i = 0; i < grams.length; i++) {
        const g = grams[i];
        const at = slot[g];
        if (at === 0) {
          uniq.push(g);
          cnt.push(1);
          slot[g] = uniq.length;
        } else {
          cnt[at - 1]++;
        }
      }
      for (let i = 0; i < uniq.length; i++) slot[uniq[i]] = 0;
      ids.push(uniq);
      counts.push(cnt);
    }
    return { ids, counts, length: L };
  }
}

/** Every hypothesis and reference of a corpus cooked with one shared {@linkcode NgramIds}. */
export interface CookedCorpus {
  vocab: NgramIds;
  hyps: CookedIds[];
  refs: CookedIds[][];
}

/** Cooks a corpus once, so that BLEU and CIDEr-D can share the work. */
export function cookCorpus(
  hypotheses: readonly string[],
  references: readonly (readonly string[])[],
): CookedCorpus {
  const vocab = new NgramIds(4);
  const refs = references.map((rs) => rs.map((r) => vocab.cook(r)));
  const hyps = hypotheses.map((h) => vocab.cook(h));
  return { vocab, hyps, refs };
}
