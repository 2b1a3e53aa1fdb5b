/**
 * The `main` header of row kernels: one workgroup per row `row` < `P.rows` (rows spread over a 2-d/3-d
 * grid), `lid` the invocation inside the row's workgroup. The body follows and closes the function.
 *
 * @module
 */

/** WGSL opening of a one-workgroup-per-row `main` (the caller appends the body and `}`). */
export const ROW_MAIN = /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wg_linear(wid, nwg);
  if (row >= P.rows) { return; }`;
