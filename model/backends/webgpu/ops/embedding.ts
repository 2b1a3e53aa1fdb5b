/**
 * Index-driven operations on the WebGPU backend: VLP's embedding sum and its backward, row gathers and row
 * scatter-adds. Scatter-adds are deterministic without atomics (`scatter_add_grouped`: the first row of each
 * key sums every row with that key in row order), so table gradients equal the reference backend's bit for
 * bit. Kernels that read indices report the first out-of-range one through the status word.
 *
 * @module
 */
import type { EmbeddingArgs, EmbeddingBackwardArgs } from "../../../backend.ts";
import { type Args, embeddingDims, gatherRowsDims, scatterAddRowsDims } from "../../../backend_contract.ts";
import { type Dispatcher, range } from "../dispatch.ts";
import { type Bind, GpuTensor, gpuTensor } from "../runtime.ts";
import { SCATTER_ADD_TABLES } from "../kernels/scatter_add_tables.ts";
import { EMBEDDING } from "../kernels/embedding.ts";
import { EMBEDDING_KEYS } from "../kernels/embedding_keys.ts";
import { EMBEDDING_REGIONS_BACKWARD } from "../kernels/embedding_regions_backward.ts";
import { GATHER_ROWS } from "../kernels/gather_rows.ts";
import { SCATTER_ADD_GROUPED } from "../kernels/scatter_add_grouped.ts";

/** out[b, l] = word + position + segment, region slots 1..R from the region inputs. */
export function embedding(d: Dispatcher, a: EmbeddingArgs): void {
  const { B, L, C, R } = embeddingDims(a);
  const dummy = d.rt.dummy("f32");
  const n = B * L * C;
  d.rt.dispatch(
    EMBEDDING,
    {
      ids: gpuTensor(a.ids),
      seg: gpuTensor(a.segmentIds),
      position_ids: a.positionIds ? gpuTensor(a.positionIds) : d.rt.dummy("i32"),
      wte: gpuTensor(a.wte),
      wpe: gpuTensor(a.wpe),
      wtt: gpuTensor(a.wtt),
      regions: a.regions ? gpuTensor(a.regions) : dummy,
      region_pos: a.regionPos ? gpuTensor(a.regionPos) : dummy,
      out: gpuTensor(a.out),
    },
    {
      n,
      l: L,
      c: C,
      r: R,
      pos_offset: a.posOffset,
      has_pos_ids: a.positionIds ? 1 : 0,
      nvocab: a.wte.size / C,
      npos: a.wpe.size / C,
      ntype: a.wtt.size / C,
    },
    d.groups(EMBEDDING, n),
    "token id, segment id or position",
  );
}

/**
 * Backward of {@linkcode embedding}: the (word, position, segment) key of every slot, one grouped
 * scatter-add per table (+=; the three in one `scatter_add_tables` dispatch when they lie in one binding),
 * and the region gradients of slots 1..R (=).
 */
export function embeddingBackward(d: Dispatcher, a: EmbeddingBackwardArgs): void {
  embeddingTablesBackward(d, a);
  const [B, L, C] = a.dout.shape;
  const R = a.dregions ? a.dregions.shape[1] : 0;
  const dout = gpuTensor(a.dout);
  if (a.dregions && a.dregionPos) {
    const n = B * R * C;
    d.rt.dispatch(
      EMBEDDING_REGIONS_BACKWARD,
      { dout, dregions: gpuTensor(a.dregions), dregion_pos: gpuTensor(a.dregionPos) },
      { n, l: L, c: C, r: R },
      d.groups(EMBEDDING_REGIONS_BACKWARD, n),
    );
  }
}

/** The table part of {@linkcode embeddingBackward}: the keys, then one grouped scatter-add per table. */
export function embeddingTablesBackward(d: Dispatcher, a: EmbeddingBackwardArgs): void {
  const [B, L, C] = a.dout.shape;
  const R = a.dregions ? a.dregions.shape[1] : 0;
  const N = B * L;
  const dout = gpuTensor(a.dout);
  const keys = d.rt.scratch(3 * N, "i32");
  d.rt.dispatch(
    EMBEDDING_KEYS,
    {
      ids: gpuTensor(a.ids),
      seg: gpuTensor(a.segmentIds),
      position_ids: a.positionIds ? gpuTensor(a.positionIds) : d.rt.dummy("i32"),
      keys,
    },
    { n: N, l: L, r: R, pos_offset: a.posOffset, has_pos_ids: a.positionIds ? 1 : 0 },
    d.groups(EMBEDDING_KEYS, N),
  );
  const tables: [GpuTensor, string][] = [
    [gpuTensor(a.dwte), "token id"],
    [gpuTensor(a.dwpe), "position"],
    [gpuTensor(a.dwtt), "segment id"],
  ];
  // the three tables in one dispatch when they lie in one binding, row-aligned (a model's flat gradients)
  const [ts, lo] = [tables.map(([t]) => t), Math.min(...tables.map(([t]) => t.offset))];
  const hi = Math.max(...ts.map((t) => t.offset + t.size));
  if (
    ts.every((t) => t.storage === ts[0].storage && (t.offset - lo) % C === 0) && hi - lo <= d.maxElems
  ) {
    const span = new GpuTensor(ts[0].storage, lo, [hi - lo], "float", "f32", true);
    const [m0, m1, m2] = ts.map((t) => t.size / C), [row0, row1, row2] = ts.map((t) => (t.offset - lo) / C);
    d.rt.dispatch(
      SCATTER_ADD_TABLES,
      { src: dout, keys, dst: span },
      { rows: N, d: C, m0, m1, m2, row0, row1, row2 },
      3 * N,
      "token id, position or segment id",
    );
  } else {
    tables.forEach(([table, what], i) => {
      scatterGrouped(d, dout, range(keys, i * N, (i + 1) * N), table, N, N, table.size / C, C, what);
    });
  }
  d.rt.free(keys);
}

/** dst[group·M + key, :] += src rows with that key (deterministic, see scatter_add_grouped.ts). */
function scatterGrouped(
  d: Dispatcher,
  src: GpuTensor,
  keys: Bind,
  dst: GpuTensor,
  rows: number,
  group: number,
  m: number,
  width: number,
  what: string,
): void {
  d.rt.dispatch(SCATTER_ADD_GROUPED, { src, keys, dst }, { rows, group, m, d: width }, rows, what);
}

/** out[b, p, :] = x[b, index[b, p], :]. */
export function gatherRows(d: Dispatcher, { x, index, out }: Args<"gatherRows">): void {
  const { bx, d: width } = gatherRowsDims({ x, index, out });
  const n = out.size;
  d.rt.dispatch(
    GATHER_ROWS,
    { x: gpuTensor(x), index: gpuTensor(index), out: gpuTensor(out) },
    { n, d: width, p: index.size / bx, m: x.size / (bx * width) },
    d.groups(GATHER_ROWS, n),
    "row index",
  );
}

/** dx[b, index[b, p], :] += dout[b, p, :]. */
export function scatterAddRows(d: Dispatcher, { dout, index, dx }: Args<"scatterAddRows">): void {
  const { bx, d: width } = scatterAddRowsDims({ dout, index, dx });
  const p = index.size / bx;
  scatterGrouped(
    d,
    gpuTensor(dout),
    gpuTensor(index),
    gpuTensor(dx),
    index.size,
    p,
    dx.size / (bx * width),
    width,
    "row index",
  );
}
