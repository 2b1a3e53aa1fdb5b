/**
 * General matrix multiply in plain TypeScript, row-major with the cblas conventions:
 *
 *   C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C     (beta = 0: C is overwritten, old values ignored)
 *
 * op(A) = A stored [m, lda] or, with `transA`, Aᵀ stored [k, lda]; likewise B. Offsets and leading
 * dimensions (row strides) let a call address a sub-matrix, e.g. one attention head inside a [L, 3C] row.
 *
 * Parallelisation: none (one thread). Loops are ordered and blocked so that a block of B stays in cache (NT:
 * packed into a float64 panel), and each pass computes a small tile of C (NT: 2×4 sums; NN, TN: 4 rows) so that
 * loads are shared; the tiles change no value (every element takes the same operations in the same order);
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

const JB = 64; // rows of Bᵀ per block (NT case), fewer when their float64 panel would exceed NT_BLOCK_BYTES
const NT_BLOCK_BYTES = 256 * 1024;
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

// C[i,j] = Σ_p A[i,p]·B[j,p]: dot products of contiguous rows, each summed in order along p. B is taken in
// blocks of rows, each block's 4-row groups packed into a float64 panel interleaved along p (4 values per p,
// one stream instead of 4 strided ones); 2 rows of A × 4 rows of B at a time (8 sums from 6 loads per p),
// then the leftover row and columns.
function gemmNT(g: GemmArgs): void {
  const { m, n, k, alpha, beta, a, b, c, aOff, lda, bOff, ldb, cOff, ldc } = g;
  const jb = Math.max(4, Math.min(JB, 4 * Math.floor(NT_BLOCK_BYTES / (32 * k))));
  const panel = new Float64Array(jb * k);
  for (let j0 = 0; j0 < n; j0 += jb) {
    const j1 = Math.min(n, j0 + jb), quads = (j1 - j0) >> 2, jq = j0 + 4 * quads;
    for (let q = 0; q < quads; q++) {
      const o = q * 4 * k;
      for (let t = 0; t < 4; t++) {
        const br = bOff + (j0 + 4 * q + t) * ldb;
        for (let p = 0; p < k; p++) panel[o + 4 * p + t] = b[br + p];
      }
    }
    let i = 0;
    for (; i + 1 < m; i += 2) {
      const a0 = aOff + i * lda, a1 = a0 + lda;
      const c0 = cOff + i * ldc, c1 = c0 + ldc;
      for (let q = 0; q < quads; q++) {
        const o = q * 4 * k;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        for (let p = 0; p < k; p++) {
          const x0 = a[a0 + p], x1 = a[a1 + p], po = o + 4 * p;
          const y0 = panel[po], y1 = panel[po + 1], y2 = panel[po + 2], y3 = panel[po + 3];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s02 += x0 * y2;
          s03 += x0 * y3;
          s10 += x1 * y0;
          s11 += x1 * y1;
          s12 += x1 * y2;
          s13 += x1 * y3;
        }
        const j = j0 + 4 * q;
        store4(c, c0 + j, alpha, beta, s00, s01, s02, s03);
        store4(c, c1 + j, alpha, beta, s10, s11, s12, s13);
      }
      for (let j = jq; j < j1; j++) {
        const b0 = bOff + j * ldb;
        let s0 = 0, s1 = 0;
        for (let p = 0; p < k; p++) {
          const y = b[b0 + p];
          s0 += a[a0 + p] * y;
          s1 += a[a1 + p] * y;
        }
        c[c0 + j] = beta === 0 ? alpha * s0 : alpha * s0 + beta * c[c0 + j];
        c[c1 + j] = beta === 0 ? alpha * s1 : alpha * s1 + beta * c[c1 + j];
      }
    }
    for (; i < m; i++) {
      const ar = aOff + i * lda, cr = cOff + i * ldc;
      for (let q = 0; q < quads; q++) {
        const o = q * 4 * k;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let p = 0; p < k; p++) {
          const av = a[ar + p], po = o + 4 * p;
          s0 += av * panel[po];
          s1 += av * panel[po + 1];
          s2 += av * panel[po + 2];
          s3 += av * panel[po + 3];
        }
        store4(c, cr + j0 + 4 * q, alpha, beta, s0, s1, s2, s3);
      }
      for (let j = jq; j < j1; j++) {
        const b0 = bOff + j * ldb;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ar + p] * b[b0 + p];
        c[cr + j] = beta === 0 ? alpha * s : alpha * s + beta * c[cr + j];
      }
    }
  }
}

/** c[o…o+3] = alpha·s + beta·c (beta = 0: old values ignored). */
function store4(
  c: FloatArray,
  o: number,
  alpha: number,
  beta: number,
  s0: number,
  s1: number,
  s2: number,
  s3: number,
): void {
  if (beta === 0) {
    c[o] = alpha * s0;
    c[o + 1] = alpha * s1;
    c[o + 2] = alpha * s2;
    c[o + 3] = alpha * s3;
  } else {
    c[o] = alpha * s0 + beta * c[o];
    c[o + 1] = alpha * s1 + beta * c[o + 1];
    c[o + 2] = alpha * s2 + beta * c[o + 2];
    c[o + 3] = alpha * s3 + beta * c[o + 3];
  }
}

// C[i,:] += Σ_p alpha·A[i,p]·B[p,:] (NN: A[i,p] at aOff + i·lda + p).
function gemmNN(g: GemmArgs): void {
  addProducts(g, g.lda, 1);
}

// C[i,:] += Σ_p alpha·A[p,i]·B[p,:] (TN: A stored transposed, A[i,p] at aOff + p·lda + i).
function gemmTN(g: GemmArgs): void {
  addProducts(g, 1, g.lda);
}

/**
 * C[i,:] += Σ_p alpha·A[i,p]·B[p,:], A[i,p] at aOff + i·rs + p·ps, B blocked by rows of {@linkcode PB}. Every
 * element of C takes, in order of p, c += a₀b₀ + a₁b₁ + a₂b₂ + a₃b₃ for each 4 rows of B of a block, then
 * c += a·b for its leftover rows; 4 rows of C are updated together, sharing the loads of B.
 */
function addProducts(g: GemmArgs, rs: number, ps: number): void {
  const { m, n, k, alpha, a, b, c, aOff, bOff, ldb, cOff, ldc } = g;
  for (let p0 = 0; p0 < k; p0 += PB) {
    const p1 = Math.min(k, p0 + PB);
    let i = 0;
    for (; i + 3 < m; i += 4) {
      const c0 = cOff + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
      const r0 = aOff + i * rs, r1 = r0 + rs, r2 = r1 + rs, r3 = r2 + rs;
      let p = p0;
      for (; p + 3 < p1; p += 4) {
        const q0 = p * ps, q1 = q0 + ps, q2 = q1 + ps, q3 = q2 + ps;
        const a00 = alpha * a[r0 + q0], a01 = alpha * a[r0 + q1], a02 = alpha * a[r0 + q2];
        const a03 = alpha * a[r0 + q3], a10 = alpha * a[r1 + q0], a11 = alpha * a[r1 + q1];
        const a12 = alpha * a[r1 + q2], a13 = alpha * a[r1 + q3], a20 = alpha * a[r2 + q0];
        const a21 = alpha * a[r2 + q1], a22 = alpha * a[r2 + q2], a23 = alpha * a[r2 + q3];
        const a30 = alpha * a[r3 + q0], a31 = alpha * a[r3 + q1], a32 = alpha * a[r3 + q2];
        const a33 = alpha * a[r3 + q3];
        const b0 = bOff + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        for (let j = 0; j < n; j++) {
          const y0 = b[b0 + j], y1 = b[b1 + j], y2 = b[b2 + j], y3 = b[b3 + j];
          c[c0 + j] += a00 * y0 + a01 * y1 + a02 * y2 + a03 * y3;
          c[c1 + j] += a10 * y0 + a11 * y1 + a12 * y2 + a13 * y3;
          c[c2 + j] += a20 * y0 + a21 * y1 + a22 * y2 + a23 * y3;
          c[c3 + j] += a30 * y0 + a31 * y1 + a32 * y2 + a33 * y3;
        }
      }
      for (; p < p1; p++) {
        const q = p * ps, br = bOff + p * ldb;
        const v0 = alpha * a[r0 + q], v1 = alpha * a[r1 + q], v2 = alpha * a[r2 + q], v3 = alpha * a[r3 + q];
        for (let j = 0; j < n; j++) {
          const y = b[br + j];
          c[c0 + j] += v0 * y;
          c[c1 + j] += v1 * y;
          c[c2 + j] += v2 * y;
          c[c3 + j] += v3 * y;
        }
      }
    }
    for (; i < m; i++) {
      const ar = aOff + i * rs, cr = cOff + i * ldc;
      let p = p0;
      for (; p + 3 < p1; p += 4) {
        const a0 = alpha * a[ar + p * ps], a1 = alpha * a[ar + (p + 1) * ps];
        const a2 = alpha * a[ar + (p + 2) * ps], a3 = alpha * a[ar + (p + 3) * ps];
        const b0 = bOff + p * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        for (let j = 0; j < n; j++) {
          c[cr + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
        }
      }
      for (; p < p1; p++) {
        const av = alpha * a[ar + p * ps], br = bOff + p * ldb;
        for (let j = 0; j < n; j++) c[cr + j] += av * b[br + j];
      }
    }
  }
}
