/**
 * sum_chunks_group: the final stage of many chunked column sums in one dispatch (the parameter-gradient
 * sums that ops/grad_sums.ts holds back during a backward pass). Job j of the table adds its `chunks`
 * partial rows of `n` columns, in order k = 0, 1, ..., onto its destination:
 *
 *   dst[dst_j + c] += Σ_k src[src_j + k·n_j + c]     (c < n_j)
 *
 * one invocation per (job, column), the job found by a binary search over the table's first invocations.
 * Each column is summed exactly as sum_chunks, sum_chunks3 and sum_rows (accumulating) sum it, so the
 * result is bit-identical to running those one by one (grad_sums_test.ts). Its plain twin is
 * `sumChunksGroupHost` of ops/grad_sums.ts.
 */
import type { KernelDef } from "../kernel.ts";

/** many chunked column sums, accumulated */
export const SUM_CHUNKS_GROUP: KernelDef = {
  name: "sum_chunks_group",
  workgroupSize: [256, 1],
  bindings: [
    {
      name: "table",
      access: "read",
      type: "u32",
      shape: "[jobs, 5] (src, chunks, n, dst, first invocation)",
    },
    { name: "src", access: "read", type: "f32", shape: "[Σ chunks·n] partial rows" },
    { name: "dst", access: "read_write", type: "f32", shape: "[span] += (the jobs' destinations)" },
  ],
  uniforms: { jobs: "u32", total: "u32" },
  body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wg_linear(wid, nwg) * WG + lid;
  if (t >= P.total) { return; }
  // the last job whose first invocation is ≤ t (first[0] = 0)
  var lo = 0u;
  var hi = P.jobs;
  loop {
    if (hi - lo <= 1u) { break; }
    let mid = (lo + hi) / 2u;
    if (table[P.table_off + mid * 5u + 4u] <= t) { lo = mid; } else { hi = mid; }
  }
  let j = P.table_off + lo * 5u;
  let s0 = P.src_off + table[j];
  let chunks = table[j + 1u];
  let n = table[j + 2u];
  let c = t - table[j + 4u];
  var s = 0.0;
  for (var k = 0u; k < chunks; k++) { s += src[s0 + k * n + c]; }
  dst[P.dst_off + table[j + 3u] + c] += s;
}`,
};
