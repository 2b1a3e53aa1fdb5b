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
const CPT: u32 = 8u;                      // channels per invocation
var<workgroup> w_key: i32;
var<workgroup> w_dup: u32;

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
  if (lid == 0u) {
    w_key = keys[P.keys_off + n];
    w_dup = 0u;
  }
  let key = workgroupUniformLoad(&w_key);
  if (key == -1) { return; }
  if (key < -1 || u32(key) >= m) {
    if (lid == 0u) { report_oob(n - g0, key, m); }
    return;
  }
  // does an earlier row of the group own this key?
  for (var q = g0 + lid; q < n; q += WG) {
    if (keys[P.keys_off + q] == key) { w_dup = 1u; }
  }
  if (workgroupUniformLoad(&w_dup) != 0u) { return; }
  let dst_row = row0 + u32(key);
  for (var c0 = 0u; c0 < P.d; c0 += WG * CPT) {
    // this invocation's channels: c0 + u·WG + lid, u < CPT
    var acc: array<f32, CPT>;
    for (var u = 0u; u < CPT; u++) {
      let c = c0 + u * WG + lid;
      if (c < P.d) { acc[u] = dst[P.dst_off + dst_row * P.d + c]; }
    }
    for (var q = n; q < g1; q++) {
      if (keys[P.keys_off + q] != key) { continue; }
      for (var u = 0u; u < CPT; u++) {
        let c = c0 + u * WG + lid;
        if (c < P.d) { acc[u] += src[P.src_off + (q - g0) * P.d + c]; }
      }
    }
    for (var u = 0u; u < CPT; u++) {
      let c = c0 + u * WG + lid;
      if (c < P.d) { dst[P.dst_off + dst_row * P.d + c] = acc[u]; }
    }
  }
}`,
};
