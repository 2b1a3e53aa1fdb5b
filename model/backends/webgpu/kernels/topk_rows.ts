/**
 * topk_rows: the k largest values of one row of x [N, V] (twin: kernels/topk.ts), one workgroup of 256 per
 * row, k rounds: each invocation finds, among its elements j ≡ lid (mod 256), the first one after the
 * previous round's pick in the order (value descending, index ascending), NaN skipped; a tree over the
 * workgroup then takes the first of the 256 candidates. Values are copied, never computed, so they equal
 * the host's exactly. Slots a row cannot fill get index −1 and −Infinity. With `has_stats`: stats[n] =
 * (max, Σ exp(x − max)) of the row (float32, a wg_sum tree; NaN skipped).
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** values, indices [N, k] of x [N, V] */
export const TOPK_ROWS: KernelDef = {
  name: "topk_rows",
  workgroupSize: [256, 1],
  bindings: [
    { name: "x", access: "read", type: "f32", shape: "[N, V]" },
    { name: "values", access: "read_write", type: "f32", shape: "[N, k]" },
    { name: "indices", access: "read_write", type: "i32", shape: "[N, k]" },
    { name: "stats", access: "read_write", type: "f32", shape: "[N, 2] (a placeholder without stats)" },
  ],
  uniforms: { rows: "u32", v: "u32", k: "u32", has_stats: "u32" },
  helpers: ["reduce"],
  body: /* wgsl */ `
var<workgroup> tv: array<f32, WG>;
var<workgroup> ti: array<i32, WG>;

// (v, i) before (w, j): larger value, then lower index; index −1 (nothing) comes after everything
fn before(v: f32, i: i32, w: f32, j: i32) -> bool {
  if (i < 0) { return false; }
  if (j < 0) { return true; }
  return v > w || (v == w && i < j);
}
` + ROW_MAIN + /* wgsl */ `
  let o = row * P.v;
  var pv = 0.0;
  var pi = -1;
  var mx = 0.0; // the first pick: the row's max
  let neg_inf = bitcast<f32>(0xff800000u);
  for (var r = 0u; r < P.k; r++) {
    var bv = neg_inf;
    var bi = -1;
    for (var j = lid; j < P.v; j += WG) {
      let v = x[P.x_off + o + j];
      if ((bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) { continue; } // NaN (by its bits: v != v may fold)
      if (r > 0u && !before(pv, pi, v, i32(j))) { continue; }
      if (before(v, i32(j), bv, bi)) { bv = v; bi = i32(j); }
    }
    tv[lid] = bv;
    ti[lid] = bi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
      if (lid < s && before(tv[lid + s], ti[lid + s], tv[lid], ti[lid])) {
        tv[lid] = tv[lid + s];
        ti[lid] = ti[lid + s];
      }
      workgroupBarrier();
    }
    pv = workgroupUniformLoad(&tv[0]);
    pi = workgroupUniformLoad(&ti[0]);
    if (r == 0u) { mx = pv; }
    if (lid == 0u) {
      values[P.values_off + row * P.k + r] = pv;
      indices[P.indices_off + row * P.k + r] = pi;
    }
    workgroupBarrier();
  }
  if (P.has_stats != 0u) {
    // the max is the first pick of a full row (k ≥ 1); Σ exp(x − max) over the numbers
    var s = 0.0;
    for (var j = lid; j < P.v; j += WG) {
      let v = x[P.x_off + o + j];
      if ((bitcast<u32>(v) & 0x7fffffffu) <= 0x7f800000u) { s += exp(v - mx); }
    }
    s = wg_sum(lid, s);
    if (lid == 0u) {
      stats[P.stats_off + 2u * row] = mx;
      stats[P.stats_off + 2u * row + 1u] = s;
    }
  }
}`,
};
