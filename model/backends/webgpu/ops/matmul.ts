/**
 * The matmul plan of the WebGPU backend: which GEMM variant (kernels/matmul.ts) runs a product, how a
 * product too large for one binding or one grid is split, when the k dimension is split (split-K), and the
 * dispatches themselves.
 *
 * - **Tiles** by transpose case and shape ({@linkcode gemmTile}) from the tile table (ops/gemm_table.ts: the
 *   backend option `gemmTable`, a sweep's record, else `DEFAULT_GEMM_TABLE`); a double-buffered tile whose
 *   workgroup memory exceeds the device's `maxComputeWorkgroupStorageSize` runs single-stage.
 * - **Vector loads** ({@linkcode vecOperand}): an operand whose stored rows, leading dimension, batch
 *   strides and offset are multiples of 4 elements is read as vec4s; any other runs the scalar loads (odd
 *   shapes, views at odd offsets). The option `gemmVec4: false` turns them off (sweep, tests).
 * - **Binding and grid splits**: a batch dimension first, then m, n or k (k with beta = 1 for the second
 *   part), recursively, in halves aligned to {@linkcode SPLIT_ALIGN}.
 * - **Split-K** for products with few output tiles and a long k: partial products over k-ranges into
 *   scratch (one batched dispatch for the equal ranges, one for a shorter rest), then `sum_rows` adds them
 *   in order (deterministic).
 * - **Batches** go in dispatches of at most `maxWorkgroupsPerDim` items (the grid's z).
 * - **Plans, then dispatches**: a product is first planned into its steps (GEMM dispatches, then what
 *   follows them, such as a split-K sum), then recorded; {@linkcode matmulPair} plans a Linear's two
 *   backward products and records the first GEMM dispatch of each as one `matmul_pair` dispatch
 *   (kernels/matmul_pair.ts) where they allow it.
 *
 * @module
 */
import type { MatmulArgs } from "../../../backend.ts";
import { matmulSpan, type NormalizedMatmul, normalizeMatmul } from "../../../backend_contract.ts";
import { type Dispatcher, range } from "../dispatch.ts";
import { type GpuTensor, gpuTensor } from "../runtime.ts";
import {
  GEMM_TILES,
  gemmKernel,
  gemmTileBytes,
  type GemmTileName,
  type GemmVariant,
} from "../kernels/matmul.ts";
import { gemmPairBytes, gemmPairKernel } from "../kernels/matmul_pair.ts";
import type { KernelDef } from "../kernel.ts";
import {
  DEFAULT_GEMM_TABLE,
  type GemmTable,
  isSmallGemm,
  LARGE_TILE_MIN,
  lookupGemmTile,
  lookupPairTile,
} from "./gemm_table.ts";
import { gemmGeluKernel } from "../kernels/matmul_gelu.ts";
import { gemmReluKernel } from "../kernels/matmul_relu.ts";
import { SUM_ROWS } from "../kernels/sum_rows.ts";
import type { GradSums } from "./grad_sums.ts";

/** How the backend picks GEMM variants (the `WebGpuOptions` fields of the same names). */
export interface GemmOptions {
  /** Force one tile variant for every product (tests). */
  gemmTile?: GemmTileName;
  /** The tile of every product of at least {@linkcode LARGE_TILE_MIN}×{@linkcode LARGE_TILE_MIN} (sweep). */
  gemmLargeTile?: GemmTileName;
  /** The tile table (default {@linkcode DEFAULT_GEMM_TABLE}; a sweep's: `gemmTableFromRecord`). */
  gemmTable?: GemmTable;
  /** vec4 global loads where the operands allow them (default true). */
  gemmVec4?: boolean;
  /** Split-K (default on). */
  splitK?: boolean;
  /** A Linear's two backward products in one dispatch where they allow it ({@linkcode matmulPair}; default on). */
  gemmPair?: boolean;
  /**
   * Products with a float16 B (the --fp16 weights and FFN activation) staged and summed per K tile in float16
   * (the `_m16` variants of kernels/matmul.ts; default off: float32 products and sums).
   */
  gemmHalfMath?: boolean;
}

/** The tensors of one product (views of the call's, after splits). */
interface Operands {
  a: GpuTensor;
  b: GpuTensor;
  c: GpuTensor;
  bias: GpuTensor | null;
}

/** One GEMM dispatch as planned, before it is recorded. */
interface GemmJob {
  variant: GemmVariant;
  kernel: KernelDef;
  binds: Record<string, GpuTensor>;
  uniforms: Record<string, number>;
  /** [⌈n/BN⌉, ⌈m/BM⌉, batch items from z_base] */
  grid: [number, number, number];
  /** the product's k (the pair puts the longer first) */
  k: number;
  /** with an activation epilogue (never paired) */
  epilogue: boolean;
}

/** What a product's plan records, in order: its GEMM dispatches and the steps after them (split-K sums). */
type Step = GemmJob | (() => void);

/** Record the steps of a plan. */
function run(d: Dispatcher, steps: readonly Step[]): void {
  for (const s of steps) typeof s === "function" ? s() : d.rt.dispatch(s.kernel, s.binds, s.uniforms, s.grid);
}

export { LARGE_TILE_MIN };

/** Split-K applies to one batch item with at least this long a k ... */
export const SPLIT_K_MIN_K = 1024;
/** ... whose output has fewer tiles (of the `small` variant) than this, the workgroups it aims for. */
export const SPLIT_K_TARGET_TILES = 256;
/** At most this many k-ranges, */
export const SPLIT_K_MAX_PARTS = 8;
/** each at least this long, */
export const SPLIT_K_MIN_PART = 256;
/** and a multiple of this (the tiles' K-step). */
export const SPLIT_K_PART_ALIGN = 16;

/** Split halves of m, n or k of at least 2·SPLIT_ALIGN are multiples of SPLIT_ALIGN (one large tile). */
export const SPLIT_ALIGN = 128;

/**
 * The tile variant of a product: `gemmTile` when forced, `gemmLargeTile` for a large one when given, else the
 * table's (`pair`: the table's tile for a backward pair whose dX product is `g`); a tile needing more than
 * `maxWorkgroupBytes` of workgroup memory gives way to its single-stage twin.
 */
export function gemmTile(
  g: NormalizedMatmul,
  opts: GemmOptions,
  maxWorkgroupBytes = Infinity,
  pair = false,
): GemmTileName {
  const table = opts.gemmTable ?? DEFAULT_GEMM_TABLE;
  let tile = opts.gemmTile ??
    (!isSmallGemm(g.m, g.n) && opts.gemmLargeTile
      ? opts.gemmLargeTile
      : pair
      ? lookupPairTile(table, g)
      : lookupGemmTile(table, g));
  if (gemmTileBytes(tile) > maxWorkgroupBytes) tile = tile.replace(/_db$/, "") as GemmTileName;
  return tile;
}

/** The device's workgroup memory limit (bytes). */
function wgBytes(d: Dispatcher): number {
  return d.rt.device.limits.maxComputeWorkgroupStorageSize;
}

/**
 * Whether an operand can be read as vec4s: its view's element offset, the leading dimension, the batch
 * strides and the extent along the stored rows (`contiguous`, > 0) all multiples of 4.
 */
export function vecOperand(
  t: GpuTensor,
  contiguous: number,
  ld: number,
  strides: readonly number[],
): boolean {
  return contiguous > 0 && contiguous % 4 === 0 && t.offset % 4 === 0 && ld % 4 === 0 &&
    strides.every((s) => s % 4 === 0);
}

/**
 * C = alpha·op(A)·op(B) + beta·C (+ bias) (see `MatmulArgs`). With `sums` (a weight gradient, beta = 1,
 * while gradient sums are held): a split-K product leaves the sum of its parts pending there.
 */
export function matmul(d: Dispatcher, opts: GemmOptions, args: MatmulArgs, sums?: GradSums): void {
  const steps: Step[] = [];
  planMatmul(d, opts, normalizeMatmul(args), operands(args), steps, sums);
  run(d, steps);
}

/** The checked tensors of a matmul call. */
function operands(args: MatmulArgs): Operands {
  const a = gpuTensor(args.a, "matmul a"),
    b = gpuTensor(args.b, "matmul b"),
    c = gpuTensor(args.c, "matmul c");
  // float16 operands: both, or B alone (float16 weights times float32 activations, as --fp16 runs)
  if (a.elem !== b.elem && !(a.elem === "f32" && b.elem === "f16")) {
    throw new TypeError(`Cannot run matmul: a is ${a.elem}, b is ${b.elem}`);
  }
  if (c.elem !== "f32") throw new TypeError("Cannot run matmul: c must be float32");
  return { a, b, c, bias: args.bias ? gpuTensor(args.bias, "matmul bias") : null };
}

/**
 * Two independent products, `first` then `second` (a Linear's backward: dX = dY·W, then dW += dYᵀ·X with
 * `sums` as in {@linkcode matmul}), in one matmul_pair dispatch (kernels/matmul_pair.ts) where `first` runs
 * as one GEMM dispatch, neither has a bias and neither writes what the other reads. Both then take the
 * pair's tile (the table's pair entry for `first`'s shape, ops/gemm_table.ts; or the forced `gemmTile`), and
 * the first GEMM dispatch of `second` (a split-K product's batch of equal parts) joins the pair, the product
 * with the longer k first; the rest of its plan follows. Otherwise, and with `gemmPair: false` (the twin),
 * the two run one after the other, each on its own tile. With equal tiles the results are bit for bit the
 * same either way.
 */
export function matmulPair(
  d: Dispatcher,
  opts: GemmOptions,
  first: MatmulArgs,
  second: MatmulArgs,
  sums?: GradSums,
): void {
  const x1 = operands(first), x2 = operands(second);
  const g1 = normalizeMatmul(first), g2 = normalizeMatmul(second);
  let s1: Step[] = [];
  planMatmul(d, opts, g1, x1, s1);
  const single = (s: Step[]) => (s.length === 1 ? gemmJob(s[0]) : null);
  const pairing = opts.gemmPair !== false && single(s1) !== null && !x1.bias && !x2.bias &&
    !overlaps(x1.c, [x2.a, x2.b, x2.c]) && !overlaps(x2.c, [x1.a, x1.b]);
  const tile = pairing ? gemmTile(g1, opts, wgBytes(d), true) : undefined;
  const paired = tile ? { ...opts, gemmTile: tile } : opts;
  // a one-dispatch plan allocates nothing, so it may be made again on the pair's tile
  if (tile && single(s1)!.variant.tile !== tile) planMatmul(d, paired, g1, x1, s1 = []);
  const s2: Step[] = [];
  planMatmul(d, paired, g2, x2, s2, sums);
  const j1 = single(s1), j2 = gemmJob(s2[0]);
  const [p, q] = j1 && j2 && j1.k < j2.k ? [j2, j1] : [j1, j2];
  const fits = p && q && tile && p.variant.tile === tile && q.variant.tile === tile &&
    gemmPairBytes(p.variant, q.variant) <= wgBytes(d);
  if (!fits) {
    run(d, s1);
    return run(d, s2);
  }
  const uniforms: Record<string, number> = { items: p.grid[2], items_1: q.grid[2] };
  for (const [name, v] of Object.entries(p.uniforms)) if (name !== "has_bias") uniforms[name] = v;
  for (const [name, v] of Object.entries(q.uniforms)) if (name !== "has_bias") uniforms[`${name}_1`] = v;
  const tiles = (j: GemmJob) => j.grid[0] * j.grid[1] * j.grid[2];
  d.rt.dispatch(
    gemmPairKernel(p.variant, q.variant),
    { a: p.binds.a, b: p.binds.b, c: p.binds.c, a_1: q.binds.a, b_1: q.binds.b, c_1: q.binds.c },
    uniforms,
    tiles(p) + tiles(q),
  );
  run(d, s2.slice(1));
}

/** A step as a GEMM dispatch that may join a pair (no epilogue), else null. */
function gemmJob(s: Step | undefined): GemmJob | null {
  return s && typeof s !== "function" && !s.epilogue ? s : null;
}

/** Whether tensor `t` shares elements with any of `others` (same buffer, intersecting element ranges). */
function overlaps(t: GpuTensor, others: readonly GpuTensor[]): boolean {
  return others.some((o) =>
    o.storage === t.storage && o.offset * o.elemBytes < (t.offset + t.size) * t.elemBytes &&
    t.offset * t.elemBytes < (o.offset + o.size) * o.elemBytes
  );
}

/**
 * out = gelu(x·Wᵀ + bias) and grad = gelu'(x·Wᵀ + bias) (when given) in one GEMM with the GELU epilogue
 * (kernels/matmul_gelu.ts), for a product that runs as one unsplit dispatch (operands and grid within the
 * limits; a linear layer's product never takes split-K, which excludes a bias). Returns false, having done
 * nothing, where it would split: the caller then runs `matmul` and `gelu`.
 */
export function matmulGelu(
  d: Dispatcher,
  opts: GemmOptions,
  args: MatmulArgs,
  grad: GpuTensor | null,
): boolean {
  return matmulActivation(d, opts, args, "gelu", grad);
}

/** out = relu(x·Wᵀ + bias) in one GEMM with the ReLU epilogue (kernels/matmul_relu.ts); as `matmulGelu`. */
export function matmulRelu(d: Dispatcher, opts: GemmOptions, args: MatmulArgs): boolean {
  return matmulActivation(d, opts, args, "relu", null);
}

function matmulActivation(
  d: Dispatcher,
  opts: GemmOptions,
  args: MatmulArgs,
  act: "gelu" | "relu",
  grad: GpuTensor | null,
): boolean {
  const g = normalizeMatmul(args);
  if (g.beta !== 0 || g.batch[0] * g.batch[1] * g.batch[2] !== 1 || g.transA || !args.bias) return false;
  if (g.ldc !== g.n || g.m === 0 || g.n === 0 || g.k === 0) return false;
  const a = gpuTensor(args.a, "matmul a"),
    b = gpuTensor(args.b, "matmul b"),
    c = gpuTensor(args.c, "matmul c");
  // C float32, or float16 for the GELU (the FFN activation of --fp16)
  if (!(c.elem === "f32" || (c.elem === "f16" && act === "gelu"))) return false;
  if (a.elem !== "f32" || (grad && grad.size !== c.size)) return false;
  const sa = matmulSpan(g.m, g.k, g.lda, g.strideA, g.batch);
  const sb = matmulSpan(g.transB ? g.n : g.k, g.transB ? g.k : g.n, g.ldb, g.strideB, g.batch);
  const sc = matmulSpan(g.m, g.n, g.ldc, g.strideC, g.batch);
  const tile = GEMM_TILES[gemmTile(g, opts, wgBytes(d))];
  const maxDim = d.rt.maxWorkgroupsPerDim, max = d.maxElems;
  if (sa * a.elemBytes > max * 4 || sb * b.elemBytes > max * 4 || sc > max) return false;
  if (Math.ceil(g.n / tile.bn) > maxDim || Math.ceil(g.m / tile.bm) > maxDim) return false;
  const bias = gpuTensor(args.bias, "matmul bias");
  const steps: Step[] = [];
  gemm(d, opts, g, { a: d.sub(a, 0, sa), b: d.sub(b, 0, sb), c: d.sub(c, 0, sc), bias }, steps, {
    act,
    grad: grad ? d.sub(grad, 0, sc) : null,
  });
  run(d, steps);
  return true;
}

/** Plan a product whose operands fit their bindings, or split it (see the module doc), into `steps`. */
function planMatmul(
  d: Dispatcher,
  opts: GemmOptions,
  g: NormalizedMatmul,
  x: Operands,
  steps: Step[],
  sums?: GradSums,
): void {
  const { a, b, c, bias } = x;
  if (g.m === 0 || g.n === 0 || g.batch.includes(0)) return;
  const plan = (h: NormalizedMatmul, o: Partial<Operands>) =>
    planMatmul(d, opts, h, { ...x, ...o }, steps, sums);
  const sa = matmulSpan(g.transA ? g.k : g.m, g.transA ? g.m : g.k, g.lda, g.strideA, g.batch);
  const sb = matmulSpan(g.transB ? g.n : g.k, g.transB ? g.k : g.n, g.ldb, g.strideB, g.batch);
  const sc = matmulSpan(g.m, g.n, g.ldc, g.strideC, g.batch);
  const max = d.maxElems;
  const tile = GEMM_TILES[gemmTile(g, opts, wgBytes(d))];
  const maxDim = d.rt.maxWorkgroupsPerDim;
  const fits = sa * a.elemBytes <= max * 4 && sb * b.elemBytes <= max * 4 && sc <= max;
  if (fits && Math.ceil(g.n / tile.bn) <= maxDim && Math.ceil(g.m / tile.bm) <= maxDim) {
    if (splitK(d, opts, g, x, steps, sums)) return;
    const fitted = {
      a: d.sub(a, 0, Math.max(1, sa)),
      b: d.sub(b, 0, Math.max(1, sb)),
      c: d.sub(c, 0, sc),
      bias,
    };
    return gemm(d, opts, g, fitted, steps);
  }
  // the operands from element `o` on (views of the rest)
  const from = (t: GpuTensor, o: number) => d.sub(t, o, t.size - o);
  // split a batch dimension first
  const bd = g.batch.findIndex((v) => v > 1);
  if (bd >= 0 && !fits) {
    const half = Math.floor(g.batch[bd] / 2);
    const b1 = [...g.batch] as [number, number, number], b2 = [...g.batch] as [number, number, number];
    b1[bd] = half;
    b2[bd] = g.batch[bd] - half;
    plan({ ...g, batch: b1 }, {});
    plan({ ...g, batch: b2 }, {
      a: from(a, half * g.strideA[bd]),
      b: from(b, half * g.strideB[bd]),
      c: from(c, half * g.strideC[bd]),
    });
    return;
  }
  // then m, n or k, depending on which operand is too large
  const tooBig = (s: number, t: GpuTensor) => s * t.elemBytes > max * 4;
  let dim: "m" | "n" | "k";
  if (Math.ceil(g.m / tile.bm) > maxDim) dim = "m";
  else if (Math.ceil(g.n / tile.bn) > maxDim) dim = "n";
  else if (tooBig(sa, a)) dim = g.transA ? "k" : "m";
  else if (tooBig(sb, b)) dim = g.transB ? "n" : "k";
  else dim = "m";
  const size = g[dim];
  if (size < 2) {
    throw new RangeError(
      `Cannot run matmul (m=${g.m}, n=${g.n}, k=${g.k}): one row of an operand exceeds the storage binding limit`,
    );
  }
  const h = size >= 2 * SPLIT_ALIGN
    ? Math.floor(size / (2 * SPLIT_ALIGN)) * SPLIT_ALIGN
    : Math.floor(size / 2);
  if (dim === "m") {
    plan({ ...g, m: h }, {});
    plan({ ...g, m: g.m - h }, { a: from(a, g.transA ? h : h * g.lda), c: from(c, h * g.ldc) });
  } else if (dim === "n") {
    plan({ ...g, n: h }, {});
    plan({ ...g, n: g.n - h }, {
      b: from(b, g.transB ? h * g.ldb : h),
      c: from(c, h),
      bias: bias ? from(bias, h) : null,
    });
  } else {
    plan({ ...g, k: h }, {});
    const ao = g.transA ? h * g.lda : h, bo = g.transB ? h : h * g.ldb;
    plan({ ...g, k: g.k - h, beta: 1 }, { a: from(a, ao), b: from(b, bo), bias: null });
  }
}

/**
 * Split-K for a product with few output tiles and a long k (weight gradients: m×n = C×C, k = B·L): S
 * partial products over k-ranges into scratch [S, m, n] (the equal ranges in one batched dispatch, a shorter
 * last one in a second), then sum_rows adds them, in order, into C.
 * Only for one batch item, contiguous C, beta ∈ {0, 1} and no bias. Returns false when it does not apply.
 * With `sums` holding and beta = 1, the parts go into its arena and their sum is left pending there.
 */
function splitK(
  d: Dispatcher,
  opts: GemmOptions,
  g: NormalizedMatmul,
  x: Operands,
  steps: Step[],
  sums?: GradSums,
): boolean {
  const { a, b, c, bias } = x;
  if (opts.splitK === false || bias || g.ldc !== g.n || !(g.beta === 0 || g.beta === 1)) return false;
  if (g.batch[0] * g.batch[1] * g.batch[2] !== 1 || g.k < SPLIT_K_MIN_K) return false;
  const t = GEMM_TILES.small;
  const tiles = Math.ceil(g.m / t.bm) * Math.ceil(g.n / t.bn);
  if (tiles >= SPLIT_K_TARGET_TILES) return false;
  const S = Math.min(
    SPLIT_K_MAX_PARTS,
    Math.ceil(SPLIT_K_TARGET_TILES / tiles),
    Math.floor(g.k / SPLIT_K_MIN_PART),
  );
  if (S < 2 || S * g.m * g.n > d.maxElems) return false;
  const kc = Math.ceil(g.k / S / SPLIT_K_PART_ALIGN) * SPLIT_K_PART_ALIGN;
  const n = g.m * g.n;
  // the full k-ranges [s·kc, (s + 1)·kc) as one batched product (item s into scratch plane s), the
  // shorter rest (if any) as one more product: each part the same product as on its own
  const full = Math.floor(g.k / kc), rest = g.k - full * kc;
  const parts = full + (rest > 0 ? 1 : 0);
  const held = g.beta === 1 ? sums?.alloc(parts * n) ?? null : null;
  const scratch = held ?? d.rt.scratch(parts * n);
  gemm(
    d,
    opts,
    {
      ...g,
      k: kc,
      beta: 0,
      ldc: g.n,
      batch: [1, 1, full],
      strideA: [0, 0, g.transA ? kc * g.lda : kc],
      strideB: [0, 0, g.transB ? kc : kc * g.ldb],
      strideC: [0, 0, n],
    },
    { a, b, c: d.sub(scratch, 0, full * n), bias: null },
    steps,
  );
  if (rest > 0) {
    const k0 = full * kc;
    const ao = g.transA ? k0 * g.lda : k0, bo = g.transB ? k0 : k0 * g.ldb;
    gemm(d, opts, { ...g, k: rest, beta: 0, ldc: g.n }, {
      a: d.sub(a, ao, a.size - ao),
      b: d.sub(b, bo, b.size - bo),
      c: d.sub(scratch, full * n, n),
      bias: null,
    }, steps);
  }
  if (held) {
    steps.push(() => sums!.add(held, parts, n, d.sub(c, 0, n)));
    return true;
  }
  steps.push(() => {
    d.rt.dispatch(
      SUM_ROWS,
      { x: range(scratch, 0, parts * n), out: range(c, 0, n) },
      { rows: parts, n, accumulate: g.beta },
      d.groups(SUM_ROWS, n),
    );
    d.rt.free(scratch);
  });
  return true;
}

/** One GEMM whose operands fit their bindings: dispatches of ≤ maxWorkgroupsPerDim batch items each. */
function gemm(
  d: Dispatcher,
  opts: GemmOptions,
  g: NormalizedMatmul,
  x: Operands,
  steps: Step[],
  epi?: { act: "gelu" | "relu"; grad: GpuTensor | null },
): void {
  const { a, b, c, bias } = x;
  const tile = gemmTile(g, opts, wgBytes(d));
  const t = GEMM_TILES[tile];
  const vec = opts.gemmVec4 !== false && g.k > 0;
  const outF16 = c.elem === "f16";
  const kernel = epi
    ? (epi.act === "gelu" ? (v: GemmVariant) => gemmGeluKernel(v, outF16) : gemmReluKernel)
    : gemmKernel;
  const variant: GemmVariant = {
    transA: g.transA,
    transB: g.transB,
    tile,
    elem: a.elem === "f16" ? "f16" : "f32",
    elemB: b.elem === "f16" ? "f16" : "f32",
    vecA: vec && vecOperand(a, g.transA ? g.m : g.k, g.lda, g.strideA),
    vecB: vec && vecOperand(b, g.transB ? g.k : g.n, g.ldb, g.strideB),
    ...(opts.gemmHalfMath && b.elem === "f16" ? { math: "f16" as const } : {}),
  };
  const items = g.batch[0] * g.batch[1] * g.batch[2];
  const gx = Math.ceil(g.n / t.bn), gy = Math.ceil(g.m / t.bm);
  const maxDim = d.rt.maxWorkgroupsPerDim;
  for (let z0 = 0; z0 < items; z0 += maxDim) {
    const gz = Math.min(maxDim, items - z0);
    steps.push({
      variant,
      kernel: kernel(variant),
      k: g.k,
      epilogue: !!epi,
      grid: [gx, gy, gz],
      binds: {
        a,
        b,
        c,
        bias: bias ?? d.rt.dummy("f32"),
        ...(epi?.act === "gelu" ? { grad: epi.grad ?? d.rt.dummy("f32") } : {}),
      },
      uniforms: {
        m: g.m,
        n: g.n,
        k: g.k,
        lda: g.lda,
        ldb: g.ldb,
        ldc: g.ldc,
        alpha: g.alpha,
        beta: g.beta,
        has_bias: bias ? 1 : 0,
        z_base: z0,
        nb1: g.batch[1],
        nb2: g.batch[2],
        sa0: g.strideA[0],
        sa1: g.strideA[1],
        sa2: g.strideA[2],
        sb0: g.strideB[0],
        sb1: g.strideB[1],
        sb2: g.strideB[2],
        sc0: g.strideC[0],
        sc1: g.strideC[1],
        sc2: g.strideC[2],
        ...(epi?.act === "gelu" ? { has_grad: epi.grad ? 1 : 0 } : {}),
      },
    });
  }
}
