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
import { SCATTER_OWNER_DECLS, scatterOwner } from "./scatter_owner.ts";

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
${SCATTER_OWNER_DECLS}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = wg_linear(wid, nwg);            // source row
  if (n >= P.rows) { return; }
  let g0 = (n / P.group) * P.group;       // first row of its group
  let g1 = min(P.rows, g0 + P.group);
${scatterOwner({ m: "P.m", at: "n", dstRow: "(n / P.group) * P.m + u32(key)", srcRow: "q" })}
}`,
};
