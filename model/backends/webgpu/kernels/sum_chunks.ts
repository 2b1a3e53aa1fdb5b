/**
 * sum_chunks: stage 2 of a chunked column sum: out[c] += Σ_k partial[k, c], chunks added in order k = 0, 1,
 * ... (one invocation per column; a single stage for any number of chunks, where sum_rows over more than
 * 64 rows would take two).
 */
import type { KernelDef } from "../kernel.ts";

/** a column sum of chunk partials, accumulated */
export const SUM_CHUNKS: KernelDef = {
  name: "sum_chunks",
  workgroupSize: [256, 1],
  bindings: [
    { name: "partial", access: "read", type: "f32", shape: "[chunks, N]" },
    { name: "out", access: "read_write", type: "f32", shape: "[N] +=" },
  ],
  uniforms: { n: "u32", chunks: "u32" },
  body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = wg_linear(wid, nwg) * WG + lid;
  if (c >= P.n) { return; }
  var s = 0.0;
  for (var k = 0u; k < P.chunks; k++) { s += partial[P.partial_off + k * P.n + c]; }
  out[P.out_off + c] += s;
}`,
};
