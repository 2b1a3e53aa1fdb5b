/**
 * The WGSL the deterministic scatter-add kernels share (scatter_add_grouped.ts, scatter_add_tables.ts): one
 * workgroup per source row n whose keys run over rows [g0, g1); the first row of each key owns it and sums
 * every row with that key, in row order, onto the destination row, which it writes once (see
 * scatter_add_grouped.ts for why). Names the kernels provide: `n`, `g0`, `g1`, `lid`, the bindings `src`,
 * `keys`, `dst` and the uniform `d` (channels).
 *
 * @module
 */

/** The constants and workgroup variables of {@linkcode scatterOwner}. */
export const SCATTER_OWNER_DECLS =
  /* wgsl */ `const CPT: u32 = 8u;                      // channels per invocation
var<workgroup> w_key: i32;
var<workgroup> w_dup: u32;`;

/**
 * Row n's key (out of range of [−1, `m`): reported with position `at`), the duplicate check, and the owner's
 * sum into `dstRow` of the source rows `srcRow(q)` (WGSL expressions), at the kernel body's indentation.
 */
export function scatterOwner(o: { m: string; at: string; dstRow: string; srcRow: string }): string {
  return /* wgsl */ `  if (lid == 0u) {
    w_key = keys[P.keys_off + n];
    w_dup = 0u;
  }
  let key = workgroupUniformLoad(&w_key);
  if (key == -1) { return; }
  if (key < -1 || u32(key) >= ${o.m}) {
    if (lid == 0u) { report_oob(${o.at}, key, ${o.m}); }
    return;
  }
  // does an earlier row of the group own this key?
  for (var q = g0 + lid; q < n; q += WG) {
    if (keys[P.keys_off + q] == key) { w_dup = 1u; }
  }
  if (workgroupUniformLoad(&w_dup) != 0u) { return; }
  let dst_row = ${o.dstRow};
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
        if (c < P.d) { acc[u] += src[P.src_off + ${o.srcRow} * P.d + c]; }
      }
    }
    for (var u = 0u; u < CPT; u++) {
      let c = c0 + u * WG + lid;
      if (c < P.d) { dst[P.dst_off + dst_row * P.d + c] = acc[u]; }
    }
  }`;
}
