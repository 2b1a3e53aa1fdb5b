/**
 * scatter_add_tables: the three table scatter-adds of the embedding backward in one dispatch, for tables
 * that lie in one binding (a model's flat gradient table: word, position and segment rows one after
 * another). Workgroup n < 3·N handles source row n mod N for table t = ⌊n / N⌋, whose keys are
 * keys[t·N + ·] and whose rows start at row `row_t` of dst (m_t rows):
 *
 *   dst[row_t + keys[t·N + i], :] += src[i, :]   (key −1 adds nothing)
 *
 * Each table is summed exactly as scatter_add_grouped sums it with one group of N rows (the first row of
 * each key sums every row with that key in row order and writes once), so the result equals its three
 * dispatches bit for bit (layers_test.ts). Keys outside [−1, m_t) are reported through the status word.
 */
import type { KernelDef } from "../kernel.ts";
import { SCATTER_OWNER_DECLS, scatterOwner } from "./scatter_owner.ts";

/** dst[row_t + key, :] += Σ rows with that key, in row order, for the three tables t */
export const SCATTER_ADD_TABLES: KernelDef = {
  name: "scatter_add_tables",
  workgroupSize: [128, 1],
  status: true,
  bindings: [
    { name: "src", access: "read", type: "f32", shape: "[N, D]" },
    { name: "keys", access: "read", type: "i32", shape: "[3, N]" },
    { name: "dst", access: "read_write", type: "f32", shape: "[rows, D] (the three tables' span)" },
  ],
  uniforms: {
    rows: "u32",
    d: "u32",
    m0: "u32",
    m1: "u32",
    m2: "u32",
    row0: "u32",
    row1: "u32",
    row2: "u32",
  },
  body: /* wgsl */ `
${SCATTER_OWNER_DECLS}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = wg_linear(wid, nwg);            // source row of table t = n / rows
  if (n >= 3u * P.rows) { return; }
  let t = n / P.rows;
  let g0 = t * P.rows;                    // first row of its table's keys
  let g1 = g0 + P.rows;
  let m = select(select(P.m2, P.m1, t == 1u), P.m0, t == 0u);
  let row0 = select(select(P.row2, P.row1, t == 1u), P.row0, t == 0u);
${scatterOwner({ m: "m", at: "n - g0", dstRow: "row0 + u32(key)", srcRow: "(q - g0)" })}
}`,
};
