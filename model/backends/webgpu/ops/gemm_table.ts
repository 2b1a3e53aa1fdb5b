/**
 * The GEMM tile table: which tile of `GEMM_TILES` (kernels/matmul.ts) runs a product, by its transpose case
 * and shape. `bench/gpu_bench.ts --sweep` times every candidate tile at the BERT-base shapes of a training
 * step (forward NT, the dX products NN and the weight gradients TN) and writes the fastest per shape into its
 * record as `gemmTable`; {@linkcode gemmTableFromRecord} reads that back (the backend option `gemmTable`,
 * `bench/gpu_bench.ts --tiles FILE`, or for every command the environment variable `VLP_GEMM_TILES=FILE`
 * naming such a record), and {@linkcode DEFAULT_GEMM_TABLE} applies when no record is given.
 *
 * Lookup ({@linkcode lookupGemmTile}): a product is "small" when m or n is below {@linkcode LARGE_TILE_MIN},
 * "large" otherwise; among the entries of its class and transpose case the one nearest in log₂(m), log₂(n),
 * log₂(k) decides (the first of equally near ones). With no such entry, the class default: `small` for small
 * products, `large_k8` (`half_n` when A is transposed) for large ones.
 *
 * **Pairs** (`pair: true` entries, {@linkcode lookupPairTile}): the one tile a Linear's two backward products
 * share when they run as one dispatch (ops/matmul.ts `matmulPair`), keyed by the shape of the input-gradient
 * product (NN, m = rows, n = inputs, k = outputs), looked up the same way. The sweep picks the tile whose
 * dX and dW times, measured apart, add up to the least; the class default is `half_m` for large products.
 *
 * @module
 */
import { GEMM_TILES, type GemmTileName } from "../kernels/matmul.ts";

/** Products with m or n below this are "small" (the `small` tile unless the table says otherwise). */
export const LARGE_TILE_MIN = 128;

/** One measured (or default) choice: the tile for products near this shape. */
export interface GemmTableEntry {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  /** batch items the shape was measured with (1 when absent) */
  batch?: number;
  tile: GemmTileName;
  /** what the sweep measured for it (TFLOP/s; of a pair: both products' flops over their summed time) */
  tflops?: number;
  /** the tile of a Linear's backward pair whose dX product (NN) has this shape (see the module doc) */
  pair?: boolean;
}

/** A tile table and where it came from. */
export interface GemmTable {
  /** "default", or what measured it (e.g. the adapter's name) */
  source: string;
  entries: GemmTableEntry[];
}

/**
 * The table without a sweep: the choices the last tile sweep on an NVIDIA H200 found for the single-stage
 * tiles (`bench/results/gpu_h200.json`, `sweepRun`): 128×128 with K-steps of 8 for the forward and dX
 * products, 128×64 for the weight gradients (TN, k = B·L); for a backward pair, the tile whose FFN dX and dW
 * times on that sweep add up to the least: 64×128 (`half_m`: 24.4 and 19.9 TFLOP/s, against 24.0 and 15.7
 * for `large_k8`). The double-buffered tiles, the vec4 loads and the paired dispatch have not been timed on
 * a GPU; a sweep that shows other tiles faster writes them into its own table.
 */
export const DEFAULT_GEMM_TABLE: GemmTable = {
  source: "default",
  entries: [
    { transA: false, transB: true, m: 7872, n: 3072, k: 768, tile: "large_k8" },
    { transA: false, transB: false, m: 7872, n: 768, k: 3072, tile: "large_k8" },
    { transA: true, transB: false, m: 3072, n: 768, k: 7872, tile: "half_n" },
    { pair: true, transA: false, transB: false, m: 7872, n: 768, k: 3072, tile: "half_m" },
  ],
};

/** Whether a product of this shape is "small" (m or n below {@linkcode LARGE_TILE_MIN}). */
export function isSmallGemm(m: number, n: number): boolean {
  return m < LARGE_TILE_MIN || n < LARGE_TILE_MIN;
}

/** The tile of a product with these transposes and sizes under `table` (see the module doc). */
export function lookupGemmTile(
  table: GemmTable,
  g: { transA: boolean; transB: boolean; m: number; n: number; k: number },
): GemmTileName {
  const small = isSmallGemm(g.m, g.n);
  return nearest(table, g, false) ?? (small ? "small" : g.transA ? "half_n" : "large_k8");
}

/** The tile of a backward pair whose dX product is `g` under `table` (see the module doc). */
export function lookupPairTile(table: GemmTable, g: { m: number; n: number; k: number }): GemmTileName {
  const nn = { ...g, transA: false, transB: false };
  return nearest(table, nn, true) ?? (isSmallGemm(g.m, g.n) ? "small" : "half_m");
}

/** The tile of the entry (pair entries or the others) nearest to `g` in its class and transpose case. */
function nearest(
  table: GemmTable,
  g: { transA: boolean; transB: boolean; m: number; n: number; k: number },
  pair: boolean,
): GemmTileName | null {
  const small = isSmallGemm(g.m, g.n);
  const l2 = (x: number) => Math.log2(Math.max(1, x));
  let best: GemmTableEntry | null = null, bestD = Infinity;
  for (const e of table.entries) {
    if ((e.pair ?? false) !== pair || e.transA !== g.transA || e.transB !== g.transB) continue;
    if (isSmallGemm(e.m, e.n) !== small) continue;
    const d = Math.abs(l2(e.m) - l2(g.m)) + Math.abs(l2(e.n) - l2(g.n)) + Math.abs(l2(e.k) - l2(g.k));
    if (d < bestD) [best, bestD] = [e, d];
  }
  return best?.tile ?? null;
}

/** The table of the record in `file` (an Error naming the file when it cannot be read or holds none). */
export function gemmTableFromFile(file: string): GemmTable {
  try {
    return gemmTableFromRecord(JSON.parse(Deno.readTextFileSync(file)));
  } catch (e) {
    throw new Error(`Cannot read the GEMM tile table of ${file}: ${(e as Error).message}`);
  }
}

/**
 * The table of a bench record: `gemmTable` of a `bench/gpu_bench.ts` record, or of its `bench` member (the
 * one line of `bench/gpu_check.sh`). Throws a TypeError naming what is wrong when there is none or an entry
 * names no known tile.
 */
export function gemmTableFromRecord(record: unknown): GemmTable {
  const r = record as { gemmTable?: unknown; bench?: { gemmTable?: unknown } } | null;
  const t = (r?.gemmTable ?? r?.bench?.gemmTable) as GemmTable | undefined;
  if (!t || typeof t !== "object" || !Array.isArray(t.entries)) {
    throw new TypeError("the record holds no gemmTable (run bench/gpu_bench.ts --sweep --record)");
  }
  const entries: GemmTableEntry[] = t.entries.map((e, i) => {
    const ok = e && typeof e.transA === "boolean" && typeof e.transB === "boolean" &&
      [e.m, e.n, e.k].every((x) => Number.isInteger(x) && x > 0) && Object.hasOwn(GEMM_TILES, e.tile) &&
      (e.pair === undefined || typeof e.pair === "boolean");
    if (!ok) {
      throw new TypeError(`gemmTable entry ${i} is not {transA, transB, m, n, k, tile} with a known tile`);
    }
    return { ...e };
  });
  return { source: typeof t.source === "string" ? t.source : "record", entries };
}
