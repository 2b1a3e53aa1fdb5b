/**
 * VLP's embedding sum and row gathers.
 *
 * Embedding (BertEmbeddings.forward with regions): for sequence b and input slot l at position
 * pos[b,l] (`posOffset + l`, or explicit position ids),
 *
 *   out[b,l] = word[b,l] + pos[b,l] + wtt[seg[b,l]]
 *   word, pos = vis[b,l−1], pe[b,l−1]            when regions are given and 1 ≤ l ≤ R
 *             = wte[ids[b,l]], wpe[posOffset+l]   otherwise
 *
 * Backward scatter-adds into the tables (+=) and writes the region gradients (=).
 *
 * Row gather: out[b,p,:] = x[b, index[b,p], :] for x [Bx, M, D], index [Bx, P]; its transpose
 * scatter-adds (+=). Used for the masked positions, the VQA [CLS]/[SEP] rows and beam reordering.
 *
 * @module
 */
import { asElement, type FloatArray } from "./types.ts";

/** Sizes and inputs of {@linkcode embeddingForward} / {@linkcode embeddingBackward}. */
export interface EmbeddingShape {
  /** sequences */
  b: number;
  /** input slots per sequence */
  l: number;
  /** hidden size */
  c: number;
  /** position of slot 0 (when no explicit positions are given) */
  posOffset: number;
  /** regions replacing slots 1..r (0 = none) */
  r: number;
}

function checkId(id: number, n: number, what: string, b: number, l: number): void {
  if (!(id >= 0 && id < n)) {
    throw new RangeError(`Cannot embed: ${what} ${id} at [${b},${l}] is outside [0, ${n})`);
  }
}

/** out [B,L,C] = word + position + segment embeddings (module doc). */
export function embeddingForward(
  s: EmbeddingShape,
  ids: Int32Array,
  seg: Int32Array,
  positions: Int32Array | null,
  wte: FloatArray,
  wpe: FloatArray,
  wtt: FloatArray,
  vis: FloatArray | null,
  pe: FloatArray | null,
  out: FloatArray,
): void {
  const { b: B, l: L, c: C, posOffset, r: R } = s;
  const V = wte.length / C, P = wpe.length / C, T = wtt.length / C;
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      const o = (b * L + l) * C;
      const t = seg[b * L + l];
      checkId(t, T, "segment id", b, l);
      const to = t * C;
      if (R > 0 && l >= 1 && l <= R) {
        const ro = (b * R + l - 1) * C;
        for (let i = 0; i < C; i++) out[o + i] = vis![ro + i] + pe![ro + i] + wtt[to + i];
      } else {
        const id = ids[b * L + l];
        checkId(id, V, "token id", b, l);
        const pos = positions ? positions[b * L + l] : posOffset + l;
        checkId(pos, P, "position", b, l);
        const wo = id * C, po = pos * C;
        for (let i = 0; i < C; i++) out[o + i] = wte[wo + i] + wpe[po + i] + wtt[to + i];
      }
    }
  }
}

/** Backward of {@linkcode embeddingForward}: dwte, dwpe, dwtt += ; dvis, dpe = (when regions). */
export function embeddingBackward(
  s: EmbeddingShape,
  ids: Int32Array,
  seg: Int32Array,
  positions: Int32Array | null,
  dout: FloatArray,
  dwte: FloatArray,
  dwpe: FloatArray,
  dwtt: FloatArray,
  dvis: FloatArray | null,
  dpe: FloatArray | null,
): void {
  const { b: B, l: L, c: C, posOffset, r: R } = s;
  // the table gradients are sums over the rows that use a table row (every row of a token type, every
  // [MASK] or [PAD]): accumulated in float64 per touched table row, added once
  const acc = new Map<FloatArray, Map<number, Float64Array>>([[dwte, new Map()], [dwpe, new Map()], [
    dwtt,
    new Map(),
  ]]);
  const add = (table: FloatArray, row: number, o: number) => {
    const rows = acc.get(table)!;
    let a = rows.get(row);
    if (!a) rows.set(row, a = new Float64Array(C));
    for (let i = 0; i < C; i++) a[i] += dout[o + i];
  };
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      const o = (b * L + l) * C;
      add(dwtt, seg[b * L + l], o);
      if (R > 0 && l >= 1 && l <= R) {
        const ro = (b * R + l - 1) * C;
        for (let i = 0; i < C; i++) {
          dvis![ro + i] = dout[o + i];
          dpe![ro + i] = dout[o + i];
        }
      } else {
        add(dwte, ids[b * L + l], o);
        add(dwpe, positions ? positions[b * L + l] : posOffset + l, o);
      }
    }
  }
  for (const [table, rows] of acc) {
    for (const [row, a] of rows) for (let i = 0; i < C; i++) table[row * C + i] += asElement(table, a[i]);
  }
}

/** out[b,p,:] = x[b, index[b,p], :] with x [Bx, M, D], index [Bx, P], out [Bx, P, D]. */
export function gatherRows(x: FloatArray, index: Int32Array, out: FloatArray, bx: number, d: number): void {
  const P = index.length / bx, M = x.length / (bx * d);
  for (let b = 0; b < bx; b++) {
    for (let p = 0; p < P; p++) {
      const m = index[b * P + p];
      if (!(m >= 0 && m < M)) {
        throw new RangeError(`Cannot gather rows: index ${m} at [${b},${p}] is outside [0, ${M})`);
      }
      const src = (b * M + m) * d;
      out.set(x.subarray(src, src + d), (b * P + p) * d);
    }
  }
}

/** dx[b, index[b,p], :] += dout[b,p,:] (transpose of {@linkcode gatherRows}). */
export function scatterAddRows(
  dout: FloatArray,
  index: Int32Array,
  dx: FloatArray,
  bx: number,
  d: number,
): void {
  const P = index.length / bx, M = dx.length / (bx * d);
  for (let b = 0; b < bx; b++) {
    for (let p = 0; p < P; p++) {
      const m = index[b * P + p];
      if (!(m >= 0 && m < M)) {
        throw new RangeError(`Cannot scatter rows: index ${m} at [${b},${p}] is outside [0, ${M})`);
      }
      const dst = (b * M + m) * d, src = (b * P + p) * d;
      for (let i = 0; i < d; i++) dx[dst + i] += dout[src + i];
    }
  }
}
