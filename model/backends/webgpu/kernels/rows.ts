/**
 * WGSL shared by the row and column kernels: the `main` header of row kernels (one workgroup per row `row` <
 * `P.rows`, rows spread over a 2-d/3-d grid, `lid` the invocation inside the row's workgroup; the body follows
 * and closes the function), the header of the per-(chunk, column) kernels, and the LayerNorm backward means.
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

/**
 * WGSL opening of a `main` with one invocation per (chunk k, column): `col` = the column, `k` the chunk,
 * `r1` the end of its rows [k·chunk_rows, r1); `width` names the uniform of the row width (`c` or `n`).
 * The caller appends the body and `}`.
 */
export function chunkColumnMain(width: string, col: string): string {
  return /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = wg_linear(wid, nwg) * WG + lid;
  let ${col} = t % P.${width};
  let k = t / P.${width};
  if (k >= P.chunks) { return; }
  let r1 = min(P.rows, (k + 1u) * P.chunk_rows);`;
}

/**
 * WGSL statements of one row's LayerNorm backward means: declares `o` (the row's offset), `mu`, `rs` (its
 * mean and rstd) and, with g = dy ⊙ weight and x̂ = (x − μ)·rstd, `sg` = mean(g) and `sgx` = mean(g ⊙ x̂)
 * (wg_sum trees over the workgroup; helper "reduce"). `x` is the binding of the LayerNorm's input, `row` the
 * WGSL name of the row index, `dy` the WGSL expression of d(LN output) at column `j` (default the binding
 * `dout`). Shared by layernorm_backward and its fused forms, so each computes the same means.
 */
export function layerNormGradMeans(
  x: string,
  row = "row",
  dy = "dout[P.dout_off + o + j]",
): string {
  return /* wgsl */ `
  let o = ${row} * P.c;
  let mu = mean[P.mean_off + ${row}];
  let rs = rstd[P.rstd_off + ${row}];
  var sg = 0.0;
  var sgx = 0.0;
  for (var j = lid; j < P.c; j += WG) {
    let g = ${dy} * weight[P.weight_off + j];
    sg += g;
    sgx += g * (${x}[P.${x}_off + o + j] - mu) * rs;
  }
  sg = wg_sum(lid, sg) / f32(P.c);
  sgx = wg_sum(lid, sgx) / f32(P.c);`;
}
