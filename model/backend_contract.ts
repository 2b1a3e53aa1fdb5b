/**
 * The op contract every backend shares (beside the interface in backend.ts): the argument type of each
 * operation, `matmul`'s defaults and bounds, and the shape checks of the other operations with their error
 * texts. Every backend calls these before it does any work, so a wrong call fails the same way (same error
 * class, same message) on the reference, blas and webgpu backends; `backends/conformance.ts` runs the same
 * calls on each.
 *
 * A check throws `TypeError` for mismatched shapes and `RangeError` for ranges outside a tensor, and returns
 * the sizes the backend needs (so that a backend never re-derives them differently).
 *
 * @example Usage
 * ```ts
 * import { normalizeMatmul, ReferenceBackend } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const be = new ReferenceBackend();
 * const [a, b, c] = [be.alloc([2, 3]), be.alloc([3, 4]), be.alloc([2, 4])];
 * const g = normalizeMatmul({ a, b, c, m: 2, n: 4, k: 3 });
 * assert.deepEqual([g.lda, g.ldb, g.ldc, g.batch], [3, 4, 4, [1, 1, 1]]);
 * ```
 *
 * @module
 */
import {
  type Backend,
  type EmbeddingArgs,
  fmtShape,
  type MatmulArgs,
  numel,
  type Tensor,
} from "./backend.ts";

/** The argument object of a backend operation, e.g. `Args<"softmax">`. */
export type Args<K extends keyof Backend> = Backend[K] extends (a: infer A) => unknown ? A : never;

/** The common size of tensors that must have the same number of elements (TypeError naming `op` otherwise). */
export function sameSize(op: string, ...ts: Tensor[]): number {
  const n = ts[0].size;
  for (const t of ts) {
    if (t.size !== n) {
      throw new TypeError(
        `Cannot run ${op}: sizes differ (${ts.map((u) => fmtShape(u.shape)).join(" vs ")})`,
      );
    }
  }
  return n;
}

// ---- memory ---------------------------------------------------------------------------------------------

/** Elements of a new tensor of `shape` (RangeError unless a safe non-negative integer). */
export function checkAlloc(shape: readonly number[]): number {
  const n = numel(shape);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Cannot allocate tensor of shape ${fmtShape(shape)}`);
  }
  return n;
}

/** Elements of a view of `shape` at element `offset` of `t` (RangeError unless inside `t`). */
export function checkView(t: Tensor, offset: number, shape: readonly number[]): number {
  const n = numel(shape);
  if (!(Number.isInteger(offset) && offset >= 0 && offset + n <= t.size)) {
    throw new RangeError(
      `Cannot view ${fmtShape(shape)} at offset ${offset} of a tensor with ${t.size} elements`,
    );
  }
  return n;
}

/** TypeError unless `data` has exactly one value per element of `t`. */
export function checkWrite(t: Tensor, data: ArrayLike<number>): void {
  if (data.length !== t.size) {
    throw new TypeError(`Cannot write ${data.length} values into a tensor of shape ${fmtShape(t.shape)}`);
  }
}

// ---- copies ---------------------------------------------------------------------------------------------

/**
 * Elements of `src` and `dst` that a strided block copy addresses ((n0 − 1)·stride0 + (n1 − 1)·stride1 + w
 * each), or null when there is nothing to copy; RangeError when they reach beyond the tensors.
 */
export function copyStridedSpans(
  { src, dst, shape, srcStride, dstStride }: Args<"copyStrided">,
): { src: number; dst: number } | null {
  const [n0, n1, w] = shape;
  if (n0 === 0 || n1 === 0 || w === 0) return null;
  const span = (st: readonly [number, number]) => (n0 - 1) * st[0] + (n1 - 1) * st[1] + w;
  const spans = { src: span(srcStride), dst: span(dstStride) };
  if (spans.src > src.size || spans.dst > dst.size) {
    throw new RangeError(`Cannot copy blocks ${fmtShape(shape)}: the strides address beyond the tensors`);
  }
  return spans;
}

// ---- matmul ---------------------------------------------------------------------------------------------

/** Matmul arguments with defaults filled in and a 3-d batch. */
export interface NormalizedMatmul {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  lda: number;
  ldb: number;
  ldc: number;
  alpha: number;
  beta: number;
  batch: [number, number, number];
  strideA: [number, number, number];
  strideB: [number, number, number];
  strideC: [number, number, number];
}

/**
 * Elements of an operand that a matmul addresses: (rows − 1)·ld + cols + Σ stride·(batch − 1) (0 when the
 * operand is empty).
 */
export function matmulSpan(
  rows: number,
  cols: number,
  ld: number,
  stride: readonly number[],
  batch: readonly number[],
): number {
  if (rows === 0 || cols === 0) return 0;
  return (rows - 1) * ld + cols + stride.reduce((s, v, i) => s + v * (batch[i] - 1), 0);
}

/** Fill in defaults and check that every addressed element lies inside a, b, c (throws RangeError). */
export function normalizeMatmul(g: MatmulArgs): NormalizedMatmul {
  const transA = g.transA ?? false, transB = g.transB ?? false;
  const lda = g.lda ?? (transA ? g.m : g.k);
  const ldb = g.ldb ?? (transB ? g.k : g.n);
  const ldc = g.ldc ?? g.n;
  const nb = g.batch?.length ?? 0;
  if (nb > 3) throw new RangeError(`Cannot run matmul: batch has ${nb} dims, at most 3 are supported`);
  const pad = (v: readonly number[] | undefined, fill: number): [number, number, number] => {
    const out: [number, number, number] = [fill, fill, fill];
    for (let i = 0; i < nb; i++) out[3 - nb + i] = v?.[i] ?? 0;
    return out;
  };
  const batch = pad(g.batch, 1);
  if (nb > 0) { for (let i = 0; i < nb; i++) batch[3 - nb + i] = g.batch![i]; }
  const strideA = pad(g.strideA, 0), strideB = pad(g.strideB, 0), strideC = pad(g.strideC, 0);
  const beta = g.beta ?? 0;
  if (g.bias && beta !== 0) throw new RangeError("Cannot run matmul: a bias needs beta = 0");
  const check = (name: string, t: Tensor, need: number) => {
    if (need > t.size) {
      throw new RangeError(
        `Cannot run matmul (m=${g.m}, n=${g.n}, k=${g.k}): ${name} ${
          fmtShape(t.shape)
        } has ${t.size} elements, ` +
          `the call addresses ${need}`,
      );
    }
  };
  check("a", g.a, matmulSpan(transA ? g.k : g.m, transA ? g.m : g.k, lda, strideA, batch));
  check("b", g.b, matmulSpan(transB ? g.n : g.k, transB ? g.k : g.n, ldb, strideB, batch));
  check("c", g.c, matmulSpan(g.m, g.n, ldc, strideC, batch));
  if (g.bias && g.bias.size < g.n) {
    throw new RangeError(`Cannot run matmul: bias has ${g.bias.size} elements, n = ${g.n}`);
  }
  return {
    m: g.m,
    n: g.n,
    k: g.k,
    transA,
    transB,
    lda,
    ldb,
    ldc,
    alpha: g.alpha ?? 1,
    beta,
    batch,
    strideA,
    strideB,
    strideC,
  };
}

/** Rows of a column sum: x [rows, out.size] (TypeError unless x is a whole number of rows). */
export function sumRowsRows({ x, out }: Args<"sumRows">): number {
  const n = out.size;
  if (n === 0 || x.size % n !== 0) {
    throw new TypeError(`Cannot sum rows: ${fmtShape(x.shape)} is not a multiple of ${n} columns`);
  }
  return x.size / n;
}

// ---- layers ---------------------------------------------------------------------------------------------

/** Rows and C of a LayerNorm: x, out [rows, C] with C = weight.size, bias [C], mean and rstd [rows]. */
export function layernormDims(
  { x, weight, bias, out, mean, rstd }: Args<"layernorm">,
): { rows: number; c: number } {
  sameSize("layernorm", x, out);
  const c = weight.size;
  if (x.size !== mean.size * c || mean.size !== rstd.size || bias.size !== c) {
    throw new TypeError(
      `Cannot run layernorm: x ${fmtShape(x.shape)}, C ${c}, mean ${fmtShape(mean.shape)}`,
    );
  }
  return { rows: mean.size, c };
}

/** Rows and C of a LayerNorm backward: dout, x, dx [rows, C], dweight and dbias [C], mean [rows]. */
export function layernormBackwardDims(
  { dout, x, mean, weight, dx, dweight, dbias }: Args<"layernormBackward">,
): { rows: number; c: number } {
  sameSize("layernormBackward", dout, x, dx);
  const c = weight.size, rows = mean.size;
  if (x.size !== rows * c || dweight.size !== c || dbias.size !== c) {
    throw new TypeError(
      `Cannot run layernormBackward: x ${fmtShape(x.shape)}, C ${c}, mean ${fmtShape(mean.shape)}`,
    );
  }
  return { rows, c };
}

/** Heads, Lq and Lk of a masked softmax: x, out [S, NH, Lq, Lk], mask [S, Lq, Lk]. */
export function softmaxDims({ x, mask, out }: Args<"softmax">): { heads: number; lq: number; lk: number } {
  sameSize("softmax", x, out);
  const [, heads, lq, lk] = x.shape;
  if (x.shape.length !== 4 || mask.size * heads !== x.size || mask.shape.at(-1) !== lk) {
    throw new TypeError(
      `Cannot run softmax: x ${fmtShape(x.shape)} must be [S, NH, Lq, Lk] with mask [S, Lq, Lk], got mask ${
        fmtShape(mask.shape)
      }`,
    );
  }
  return { heads, lq, lk };
}

/** B, L, C and R of an embedding sum: out [B, L, C], ids, segments (and positions) [B, L], regions [B, R, C]. */
export function embeddingDims(a: EmbeddingArgs): { B: number; L: number; C: number; R: number } {
  const [B, L, C] = a.out.shape;
  const R = a.regions ? a.regions.shape[1] : 0;
  if (
    a.ids.size !== B * L || a.segmentIds.size !== B * L || (a.regions && a.regions.size !== B * R * C) ||
    (a.regions && a.regionPos?.size !== B * R * C) || (a.positionIds && a.positionIds.size !== B * L)
  ) {
    throw new TypeError(`Cannot embed: out ${fmtShape(a.out.shape)}, ids ${fmtShape(a.ids.shape)}`);
  }
  return { B, L, C, R };
}

/** Bx and D of a row gather: x [Bx, M, D], index [Bx, P], out [Bx, P, D]. */
export function gatherRowsDims({ x, index, out }: Args<"gatherRows">): { bx: number; d: number } {
  const bx = index.shape[0], d = x.shape.at(-1)!;
  if (out.size !== index.size * d || x.shape[0] !== bx) {
    throw new TypeError(
      `Cannot gather rows: x ${fmtShape(x.shape)}, index ${fmtShape(index.shape)}, out ${
        fmtShape(out.shape)
      }`,
    );
  }
  return { bx, d };
}

/** The most k of topkRows (a GPU workgroup's rounds stay short). */
export const TOPK_MAX = 32;

/** N, V and k of a row top-k: x [N, V], values and indices [N, k]. */
export function topkRowsDims(
  { x, values, indices, stats }: Args<"topkRows">,
): { rows: number; V: number; k: number } {
  const V = x.shape.at(-1) ?? 0, k = indices.shape.at(-1) ?? 0;
  const rows = V > 0 ? x.size / V : 0;
  if (values.size !== indices.size || indices.size !== rows * k || k < 1 || k > TOPK_MAX || k > V) {
    throw new TypeError(
      `Cannot take topkRows: x ${fmtShape(x.shape)}, values ${fmtShape(values.shape)}, indices ${
        fmtShape(indices.shape)
      } (k from 1 to ${TOPK_MAX} and at most V)`,
    );
  }
  if (indices.dtype !== "int32") throw new TypeError("Cannot take topkRows: indices must be int32");
  if (stats && stats.size !== 2 * rows) throw new TypeError("Cannot take topkRows: stats must be [N, 2]");
  return { rows, V, k };
}

/** Bx and D of a row scatter-add: dout [Bx, P, D], index [Bx, P], dx [Bx, M, D]. */
export function scatterAddRowsDims({ dout, index, dx }: Args<"scatterAddRows">): { bx: number; d: number } {
  const bx = index.shape[0], d = dx.shape.at(-1)!;
  if (dout.size !== index.size * d || dx.shape[0] !== bx) {
    throw new TypeError(
      `Cannot scatter rows: dout ${fmtShape(dout.shape)}, index ${fmtShape(index.shape)}, dx ${
        fmtShape(dx.shape)
      }`,
    );
  }
  return { bx, d };
}

// ---- losses ---------------------------------------------------------------------------------------------

/** Rows and V of a cross entropy: logits [rows, V], targets and losses [rows]. */
export function crossEntropyDims(
  { logits, targets, losses }: Args<"crossEntropy">,
): { rows: number; v: number } {
  const rows = sameSize("crossEntropy", targets, losses);
  return { rows, v: logits.size / rows };
}

/** Rows and V of a cross-entropy backward: logits, dlogits [rows, V], targets and dlosses [rows]. */
export function crossEntropyBackwardDims(
  { logits, targets, dlosses, dlogits }: Args<"crossEntropyBackward">,
): { rows: number; v: number } {
  sameSize("crossEntropyBackward", logits, dlogits);
  const rows = sameSize("crossEntropyBackward", targets, dlosses);
  return { rows, v: logits.size / rows };
}
