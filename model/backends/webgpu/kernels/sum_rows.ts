/**
 * sum_rows: out[j] (+)= Σ_r x[r, j] for x [rows, n], rows summed in order by one invocation per column
 * (deterministic). Used directly for few rows and as the second stage after sum_rows_partial.
 */
import type { KernelDef } from "../kernel.ts";

/** column sums */
export const SUM_ROWS: KernelDef = {
  name: "sum_rows",
  workgroupSize: [256, 1],
  bindings: [
    { name: "x", access: "read", type: "f32", shape: "[rows, n]" },
    { name: "out", access: "read_write", type: "f32", shape: "[n]" },
  ],
  uniforms: { rows: "u32", n: "u32", accumulate: "u32" },
  body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = wg_linear(wid, nwg) * WG + lid;
  if (j >= P.n) { return; }
  var acc = 0.0;
  for (var r = 0u; r < P.rows; r++) { acc += x[P.x_off + r * P.n + j]; }
  let at = P.out_off + j;
  out[at] = select(acc, out[at] + acc, P.accumulate != 0u);
}`,
};
