/**
 * General matrix multiply in plain TypeScript, row-major with the cblas conventions:
 *
 *   C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C     (beta = 0: C is overwritten, old values ignored)
 *
 * op(A) = A stored [m, lda] or, with `transA`, Aᵀ stored [k, lda]; likewise B. Offsets and leading
 * dimensions (row strides) let a call address a sub-matrix, e.g. one attention head inside a [L, 3C] row.
 *
 * Parallelisation: none (one thread). Loops are ordered and blocked so that a block of B stays in cache;
 * sums are accumulated in float64: the NT loop in JavaScript numbers, the NN and TN loops (which add into C
 * block by block) into a float64 copy of C when C is float32, written back once at the end. Accumulating
 * those into float32 C rounded the sum every 4 products, which over the B·R region rows of a weight
 * gradient made the reference backend's errors several times the original's (model/README.md). {@linkcode gemmNaive} is the obvious triple loop,
 * kept as the oracle for this one and for the OpenBLAS path.
 *
 * @module
 */
import type { FloatArray } from "./types.ts";

/** Arguments of {@linkcode gemm}: one cblas_sgemm call (row-major). */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: FloatArray;
  aOff: number;
  lda: number;
  b: FloatArray;
  bOff: number;
  ldb: number;
  beta: number;
  c: FloatArray;
  cOff: number;
  ldc: number;
}

/** The obvious triple loop (the oracle). */
export function gemmNaive(g: GemmArgs): void {
  const { m, n, k, alpha, beta, a, b, c } = g;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = g.transA ? a[g.aOff + p * g.lda + i] : a[g.aOff + i * g.lda + p];
        const bv = g.transB ? b[g.bOff + j * g.ldb + p] : b[g.bOff + p * g.ldb + j];
        s += av * bv;
      }
      const ci = g.cOff + i * g.ldc + j;
      c[ci] = beta === 0 ? alpha * s : alpha * s + beta * c[ci];
    }
  }
}

/** Scale the m×n block of C by beta (beta = 0 writes zeros). */
function scaleC(c: FloatArray, cOff: number, ldc: number, m: number, n: number, beta: number): void {
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const r = cOff + i * ldc;
    if (beta === 0) c.fill(0, r, r + n);
    else for (let j = r; j < r + n; j++) c[j] *= beta;
  }
}

const JB = 64; // rows of Bᵀ per block (NT case)
const PB = 32; // rows of B per block (NN and TN cases)

/** C = alpha·op(A)·op(B) + beta·C (see the module doc). */
export function gemm(g: GemmArgs): void {
  const { m, n, k } = g;
  if (m === 0 || n === 0) return;
  if (k === 0 || g.alpha === 0) return scaleC(g.c, g.cOff, g.ldc, m, n, g.beta);
  if (!g.transA && g.transB) return gemmNT(g);
  if (g.transA && g.transB) return gemmNaive(g);
  if (g.c instanceof Float64Array) {
    scaleC(g.c, g.cOff, g.ldc, m, n, g.beta);
    if (!g.transA) gemmNN(g);
    else gemmTN(g);
    return;
  }
  // float32 C: the product accumulates in float64 [m, n], is rounded once, then added to beta·C (a float32
  // product added to C, as accumulating a gradient adds two float32 tensors: two batches accumulated into C
  // equal the sum of their two products, which the ranks' all-reduce computes)
  const acc = new Float64Array(m * n);
  const a64 = { ...g, c: acc, cOff: 0, ldc: n, beta: 1 };
  if (!g.transA) gemmNN(a64);
  else gemmTN(a64);
  for (let i = 0; i < m; i++) {
    const o = g.cOff + i * g.ldc;
    for (let j = 0; j < n; j++) {
      const prior = g.beta === 0 ? 0 : Math.fround(g.beta * g.c[o + j]);
      g.c[o + j] = prior + Math.fround(acc[i * n + j]);
    }
  }
}

// C[i,j] = Σ_p A[i,p]·B[j,p]: dot products of contiguous rows, 4 columns at a time, B blocked by rows.
function gemmNT(g: GemmArgs): void {
  const { m, n, k, alpha, beta, a, b, c, aOff, lda, bOff, ldb, cOff, ldc } = g;
  for (let j0 = 0; j0 < n; j0 += JB) {
    const j1 = Math.min(n, j0 + JB);
    for (let i = 0; i < m; i++) {
      const ar = aOff + i * lda, cr = cOff + i * ldc;
      let j = j0;
      for (; j + 3 < j1; j += 4) {
        const b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let p = 0; p < k; p++) {
          const av = a[ar + p];
          s0 += av * b[b0 + p];
          s1 += av * b[b1 + p];
          s2 += av * b[b2 + p];
          s3 += av * b[b3 + p];
        }
        if (beta === 0) {
          c[cr + j] = alpha * s0;
          c[cr + j + 1] = alpha * s1;
          c[cr + j + 2] = alpha * s2;
          c[cr + j + 3] = alpha * s3;
        } else {
          c[cr + j] = alpha * s0 + beta * c[cr + j];
          c[cr + j + 1] = alpha * s1 + beta * c[cr + j + 1];
          c[cr + j + 2] = alpha * s2 + beta * c[cr + j + 2];
          c[cr + j + 3] = alpha * s3 + beta * c[cr + j + 3];
        }
      }
      for (; j < j1; j++) {
        const b0 = bOff + j * ldb;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ar + p] * b[b0 + p];
        c[cr + j] = beta === 0 ? alpha * s : alpha * s + beta * c[cr + j];
      }
    }
  }
}

// C[i,:] += Σ_p alpha·A[i,p]·B[p,:], B blocked by rows, 4 rows of B per pass over C[i,:].
function gemmNN(g: GemmArgs): void {
  const { m, n, k, alpha, a, b, c, aOff, lda, bOff, ldb, cOff, ldc } = g;
  for (let p0 = 0; p0 < k; p0 += PB) {
    const p1 = Math.min(k, p0 + PB);
    for (let i = 0; i < m; i++) {
      const ar = aOff + i * lda, cr = cOff + i * ldc;
      let p = p0;
      for (; p + 3 < p1; p += 4) {
        const a0 = alpha * a[ar + p], a1 = alpha * a[ar + p + 1];
        const a2 = alpha * a[ar + p + 2], a3 = alpha * a[ar + p + 3];
        const b0 = bOff + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        for (let j = 0; j < n; j++) {
          c[cr + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
        }
      }
      for (; p < p1; p++) {
        const av = alpha * a[ar + p], br = bOff + p * ldb;
        for (let j = 0; j < n; j++) c[cr + j] += av * b[br + j];
      }
    }
  }
}

// C[i,:] += Σ_p alpha·A[p,i]·B[p,:] (A stored transposed), B blocked by rows.
function gemmTN(g: GemmArgs): void {
  const { m, n, k, alpha, a, b, c, aOff, lda, bOff, ldb, cOff, ldc } = g;
  for (let p0 = 0; p0 < k; p0 += PB) {
    const p1 = Math.min(k, p0 + PB);
    for (let i = 0; i < m; i++) {
      const cr = cOff + i * ldc;
      let p = p0;
      for (; p + 3 < p1; p += 4) {
        const ac = aOff + p * lda + i;
        const a0 = alpha * a[ac], a1 = alpha * a[ac + lda];
        const a2 = alpha * a[ac + 2 * lda], a3 = alpha * a[ac + 3 * lda];
        const b0 = bOff + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        for (let j = 0; j < n; j++) {
          c[cr + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
        }
      }
      for (; p < p1; p++) {
        const av = alpha * a[aOff + p * lda + i], br = bOff + p * ldb;
        for (let j = 0; j < n; j++) c[cr + j] += av * b[br + j];
      }
    }
  }
}
