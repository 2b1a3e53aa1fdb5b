/**
 * scatter_add_grouped: deterministic scatter-add of rows. Source rows n < N come in groups of G consecutive
 * rows; row n adds src[n, :] into dst[group(n)·M + keys[n], :]; key −1 adds nothing.
 *
 *   embedding backward: one group (G = N), keys = token ids / positions / segment ids, dst = the table
 *   scatterAddRows:     G = P per batch item, keys = the gather indices, dst = dx [Bx, M, D]
 *
 * Why not atomics: WGSL has no float atomics (a CAS loop on bitcast u32 would work but makes the sum order,
 * hence the rounding, vary from run to run). Here one workgroup per source row checks whether an earlier
 * row of its group has the same key; only the first such row's workgroup sums all rows with its key, in
 * row order, onto the destination's current value, and writes once. That is the reference's summation
 * order, so the result is bit-identical to it, and no two workgroups write the same row. Each invocation
 * keeps CPT channels in registers, so the owner scans the keys once per block of WG·CPT channels (once for
 * C ≤ 1024). Cost: the duplicate check reads up to N keys per row, the owner up to N keys (cached).
 * Keys outside [−1, M) are reported through the status word.
 */
import type { KernelDef } from "../kernel.ts";

/** dst[group·M + key, :] += Σ rows with that key, in row order */
export const SCATTER_ADD_GROUPED: KernelDef = {
  name: "scatter_add_grouped",
  workgroupSize: [128, 1],
  status: true,
  bindings: [
    { name: "src", access: "read", type: "f32", shape: "[N, D]" },
    { name: "keys", access: "read", type: "i32", shape: "[N]" },
    { name: "dst", access: "read_write", type: "f32", shape: "[N / G, M, D]" },
  ],
  uniforms: { rows: "u32", group: "u32", m: "u32", d: "u32" },
  body: /* wgsl */ `
const CPT: u32 = 8u;                      // channels per invocation
var<workgroup> w_key: i32;
var<workgroup> w_dup: u32;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = wg_linear(wid, nwg);            // source row
  if (n >= P.rows) { return; }
  let g0 = (n / P.group) * P.group;       // first row of its group
  let g1 = min(P.rows, g0 + P.group);
  if (lid == 0u) {
    w_key = keys[P.keys_off + n];
    w_dup = 0u;
  }
  let key = workgroupUniformLoad(&w_key);
  if (key == -1) { return; }
  if (key < -1 || u32(key) >= P.m) {
    if (lid == 0u) { report_oob(n, key, P.m); }
    return;
  }
  // does an earlier row of the group own this key?
  for (var q = g0 + lid; q < n; q += WG) {
    if (keys[P.keys_off + q] == key) { w_dup = 1u; }
  }
  if (workgroupUniformLoad(&w_dup) != 0u) { return; }
  let dst_row = (n / P.group) * P.m + u32(key);
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
        if (c < P.d) { acc[u] += src[P.src_off + q * P.d + c]; }
      }
    }
    for (var u = 0u; u < CPT; u++) {
      let c = c0 + u * WG + lid;
      if (c < P.d) { dst[P.dst_off + dst_row * P.d + c] = acc[u]; }
    }
  }
}`,
};
