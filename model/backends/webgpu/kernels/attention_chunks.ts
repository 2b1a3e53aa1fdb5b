/**
 * The WGSL the two fused attention kernels share (attention_forward.ts, attention_backward.ts): a loop over
 * the head's keys in chunks of KC staged in workgroup memory, and the two products of a block of query rows
 * with a staged chunk. Each generator returns its lines at indentation zero; `indent` (unroll.ts) places
 * them.
 *
 * Names the kernels provide: `qkv`, `row0` (Q of position 0 of the head), `c`, `c3`, `lid`, `nq`, the
 * constants KC, QB, HM, LM and the workgroup arrays `KVs` [KC·HM] and `Ss` [QB·LM].
 *
 * @module
 */
import { indent } from "./unroll.ts";

/**
 * For each chunk of KC keys from `kc`, `nk` of them inside L: the chunk's rows of the K or V part of qkv
 * (`col`: a WGSL column offset, "c + " for K and "2u * c + " for V) staged into KVs (zero past L), then `use`.
 */
export function keyChunks(col: string, use: string): string {
  return `for (var kc = 0u; kc < P.l; kc += KC) {
  let nk = min(KC, P.l - kc);
  workgroupBarrier();
  for (var e = lid; e < KC * P.hs; e += WG) {
    let j = e / P.hs;
    let d = e % P.hs;
    KVs[j * HM + d] = select(0.0, qkv[row0 + (kc + j) * c3 + ${col}d], j < nk);
  }
  workgroupBarrier();
${indent(use, "  ")}
}`;
}

/**
 * Inside {@linkcode keyChunks}: the dot product `dot` of each query row of `rows` (a [QB·HM] workgroup array)
 * with each staged key row, one (query, key) pair per invocation, then `store` (a WGSL statement).
 */
export function chunkDots(rows: string, store: string): string {
  return `for (var e = lid; e < QB * KC; e += WG) {
  let q = e / KC;
  let j = e % KC;
  if (q < nq && j < nk) {
    var dot = 0.0;
    for (var d = 0u; d < P.hs; d++) { dot = fma(${rows}[q * HM + d], KVs[j * HM + d], dot); }
    ${store}
  }
}`;
}

/**
 * Inside {@linkcode keyChunks}: `acc` (vec4 of columns `col` + 16t) += Σ_j Ss[row, kc + j]·KVs[j, ·], the
 * weights named `weight`: query row `row`'s weighted sum of the staged rows.
 */
export function chunkWeightedSum(row: string, col: string, weight: string, acc: string): string {
  return `for (var j = 0u; j < nk; j++) {
  let ${weight} = Ss[${row} * LM + kc + j];
  for (var t = 0u; t < 4u; t++) {
    let d = ${col} + 16u * t;
    if (d < P.hs) { ${acc}[t] = fma(${weight}, KVs[j * HM + d], ${acc}[t]); }
  }
}`;
}
