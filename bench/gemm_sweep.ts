/**
 * GEMM timing for bench/gpu_bench.ts: one product's time as a slope ({@linkcode timeGemm}), the BERT-base
 * shapes of a training step ({@linkcode sweepShapes}), and the tile sweep ({@linkcode sweepGemmTiles}) that
 * times every tile of `GEMM_TILES` on every sweep shape and builds the tile table (`GemmTable`, model's
 * ops/gemm_table.ts) of the fastest per shape and, for each Linear's backward pair, of the least summed time.
 *
 * GEMM times are slopes: the time of 4N dispatches minus that of N, over 3N, each batch closed by one
 * `sync()`, so that the fixed cost of a synchronisation (a buffer mapping: large under some virtualised
 * drivers) does not count as GEMM time.
 *
 * @module
 */
import {
  GEMM_TILES,
  type GemmTable,
  type GemmTableEntry,
  type GemmTileName,
  Rng,
  WebGpuBackend,
  type WebGpuOptions,
} from "@vlp/model";

/** One product of the bench: C [m×n] = op(A)·op(B) over k, `batch` contiguous items. */
export interface GemmShape {
  name: string;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** batch items (contiguous) */
  batch?: number;
  bias?: boolean;
}

/** A timed product. */
export interface GemmFigure {
  m: number;
  n: number;
  k: number;
  batch: number;
  ms: number;
  tflops: number;
}

/** Floating-point operations of one product of the shape (a multiply-add counts two). */
export function gemmFlops(s: GemmShape): number {
  return 2 * s.m * s.n * s.k * (s.batch ?? 1);
}

/** Seconds for `runs` calls of `run` and one sync. */
export async function timed(be: WebGpuBackend, run: () => void, runs: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) run();
  await be.sync();
  return (performance.now() - t0) / 1000;
}

/** The fixed cost of one `sync()` with no work recorded (ms, best of 5). */
export async function syncMs(be: WebGpuBackend): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 5; i++) best = Math.min(best, await timed(be, () => {}, 0));
  return best * 1000;
}

const inputs = new Map<string, Float32Array>();

/** Uniform values in [-1, 1) of length n from seed (made once per length and seed: the sweep reuses them). */
function hostInput(n: number, seed: number): Float32Array {
  const key = `${n},${seed}`;
  let v = inputs.get(key);
  if (!v) {
    v = new Rng(seed).fillUniform(new Float32Array(n), -1, 1);
    inputs.set(key, v);
  }
  return v;
}

/**
 * Time one GEMM shape: warm-up, then pairs of batches of N and 4N dispatches (N grown until a batch of 4N
 * takes ≥ 50 ms unless `quick`), repeated until `minSeconds`; ms per GEMM = the best slope (t(4N) − t(N)) / 3N
 * (t(4N) / 4N where noise makes the slope ≤ 0).
 * `f16`: A and B as float16 tensors.
 */
export async function timeGemm(
  be: WebGpuBackend,
  s: GemmShape,
  opts: { f16?: boolean; minSeconds: number; quick: boolean; label?: string },
): Promise<GemmFigure> {
  const batch = s.batch ?? 1;
  const alloc = (n: number) => (opts.f16 ? be.allocF16([n]) : be.alloc([n]));
  const a = alloc(batch * s.m * s.k), b = alloc(batch * s.n * s.k), c = be.alloc([batch * s.m * s.n]);
  const bias = be.alloc([s.n]);
  be.write(a, hostInput(a.size, 1));
  be.write(b, hostInput(b.size, 2));
  const run = () =>
    be.matmul({
      a,
      b,
      c,
      m: s.m,
      n: s.n,
      k: s.k,
      transA: s.transA,
      transB: s.transB,
      bias: s.bias ? bias : undefined,
      ...(batch > 1
        ? { batch: [batch], strideA: [s.m * s.k], strideB: [s.n * s.k], strideC: [s.m * s.n] }
        : {}),
    });
  await timed(be, run, 1);
  let n = 1;
  while (!opts.quick && n < 256 && (await timed(be, run, 4 * n)) < 0.05) n *= 2;
  let best = Infinity;
  const t0 = performance.now();
  do {
    const t1 = await timed(be, run, n), t4 = await timed(be, run, 4 * n);
    // the slope; where timing noise makes it ≤ 0 (tiny products), the plain average of the 4N batch
    best = Math.min(best, t4 > t1 ? (t4 - t1) / (3 * n) : t4 / (4 * n));
  } while (performance.now() - t0 < opts.minSeconds * 1000);
  const ms = best * 1000;
  for (const t of [a, b, c, bias]) be.free(t);
  const tflops = gemmFlops(s) / (ms * 1e-3) / 1e12;
  console.error(
    `${opts.label ?? ""}${opts.f16 ? "f16 " : ""}${s.name} [${s.m}×${s.n}×${s.k}]×${batch}: ${
      ms.toFixed(3)
    } ms, ${tflops.toFixed(3)} TFLOP/s`,
  );
  return { m: s.m, n: s.n, k: s.k, batch, ms, tflops };
}

/**
 * The products of one BERT-base training step at B·L rows (C 768, I 3072; `quick`: tiny sizes): every
 * Linear's forward (NT: x·Wᵀ), its input gradient (NN: dY·W) and its weight gradient (TN: dYᵀ·X), and the
 * batched attention products of the unfused path (NH·B items of [L×L×HS] and [L×HS×L]).
 */
export function sweepShapes(quick: boolean): GemmShape[] {
  const [BL, C, I, BNH, L, HS] = quick ? [64, 64, 256, 4, 17, 16] : [64 * 123, 768, 3072, 64 * 12, 123, 64];
  const linears: [string, number, number][] = [["qkv", C, 3 * C], ["attn_out", C, C], ["fc1", C, I], [
    "fc2",
    I,
    C,
  ]];
  const out: GemmShape[] = [];
  for (const [name, nin, nout] of linears) {
    out.push({ name, m: BL, n: nout, k: nin, transB: true, bias: true });
    out.push({ name: `${name}_dx`, m: BL, n: nin, k: nout });
    out.push({ name: `${name}_dw`, m: nout, n: nin, k: BL, transA: true });
  }
  out.push({ name: "scores", m: L, n: L, k: HS, transB: true, batch: BNH });
  out.push({ name: "context", m: L, n: HS, k: L, batch: BNH });
  return out;
}

/**
 * The backward pairs' table entries: for each Linear of the sweep (shapes `NAME_dx` and `NAME_dw`), the tile
 * both timed on whose two times add up to the least (a pair shares one tile, model's ops/matmul.ts
 * `matmulPair`), keyed by the dX shape. The sum of the times apart is what the entry estimates; the paired
 * dispatch itself is timed by the training step with and without pairs (bench/gpu_bench.ts).
 */
export function pairEntries(shapes: GemmShape[], tflops: GemmSweep["tflops"]): GemmTableEntry[] {
  const out: GemmTableEntry[] = [];
  for (const dx of shapes.filter((s) => s.name.endsWith("_dx"))) {
    const dw = shapes.find((s) => s.name === dx.name.replace(/_dx$/, "_dw"));
    if (!dw) continue;
    let best: [GemmTileName, number] | null = null;
    for (const [tile, tx] of Object.entries(tflops[dx.name] ?? {}) as [GemmTileName, number][]) {
      const tw = tflops[dw.name]?.[tile];
      if (!tw) continue;
      const seconds = gemmFlops(dx) / (tx * 1e12) + gemmFlops(dw) / (tw * 1e12);
      if (!best || seconds < best[1]) best = [tile, seconds];
    }
    if (!best) continue;
    const tf = (gemmFlops(dx) + gemmFlops(dw)) / best[1] / 1e12;
    out.push({
      pair: true,
      transA: false,
      transB: false,
      m: dx.m,
      n: dx.n,
      k: dx.k,
      tile: best[0],
      tflops: tf,
    });
    console.error(
      `sweep: ${dx.name.replace(/_dx$/, "")} backward pair on ${best[0]} (${tf.toFixed(2)} TFLOP/s)`,
    );
  }
  return out;
}

/** What the sweep found: per shape the TFLOP/s of every tile, the table of the fastest, vec4 loads off. */
export interface GemmSweep {
  /** shape name → tile → TFLOP/s */
  tflops: Record<string, Partial<Record<GemmTileName, number>>>;
  /** shape name → TFLOP/s of the default table's tile with vec4 loads off (what the vec4 loads gain) */
  scalarLoads: Record<string, number>;
  /** the table: per shape its fastest tile */
  table: GemmTable;
  seconds: number;
}

/**
 * Time every tile of `GEMM_TILES` (forced with the backend option `gemmTile`, split-K as the backend plans
 * it) on every shape of `shapes`, then the default table with vec4 loads off, and build the table of the
 * fastest tile per shape. A tile that fails on this adapter (e.g. too much workgroup memory) is skipped.
 */
export async function sweepGemmTiles(
  shapes: GemmShape[],
  opts: { minSeconds: number; quick: boolean; source: string; backend?: WebGpuOptions },
): Promise<GemmSweep> {
  const t0 = performance.now();
  const tflops: GemmSweep["tflops"] = {};
  for (const s of shapes) tflops[s.name] = {};
  for (const tile of Object.keys(GEMM_TILES) as GemmTileName[]) {
    console.error(`-- sweep: tile ${tile}`);
    const be = await WebGpuBackend.create({ ...opts.backend, gemmTile: tile });
    try {
      for (const s of shapes) {
        const f = await timeGemm(be, s, { ...opts, label: `${tile} ` });
        tflops[s.name][tile] = f.tflops;
      }
    } catch (e) {
      console.error(`tile ${tile} failed: ${(e as Error).message}`);
    } finally {
      be.destroy();
    }
  }
  const scalarLoads: Record<string, number> = {};
  const scalar = await WebGpuBackend.create({ ...opts.backend, gemmVec4: false });
  try {
    for (const s of shapes) {
      scalarLoads[s.name] = (await timeGemm(scalar, s, { ...opts, label: "scalar loads " })).tflops;
    }
  } finally {
    scalar.destroy();
  }
  const entries: GemmTableEntry[] = [];
  for (const s of shapes) {
    const ranked = (Object.entries(tflops[s.name]) as [GemmTileName, number][]).sort((x, y) => y[1] - x[1]);
    if (!ranked.length) continue;
    const [tile, best] = ranked[0];
    entries.push({
      transA: s.transA ?? false,
      transB: s.transB ?? false,
      m: s.m,
      n: s.n,
      k: s.k,
      ...(s.batch && s.batch > 1 ? { batch: s.batch } : {}),
      tile,
      tflops: best,
    });
    console.error(`sweep: ${s.name} fastest on ${tile} (${best.toFixed(2)} TFLOP/s)`);
  }
  entries.push(...pairEntries(shapes, tflops));
  return {
    tflops,
    scalarLoads,
    table: { source: opts.source, entries },
    seconds: (performance.now() - t0) / 1000,
  };
}
