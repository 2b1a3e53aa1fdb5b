/**
 * WGSL helpers shared by the kernels (included by name through `KernelDef.helpers`). Each has a plain
 * TypeScript twin in model/kernels/ that the tests compare against:
 *
 * - `grid`: `wg_linear()`, the flat workgroup index over a 3-d grid (always included).
 * - `status`: `report_oob()`, records the first out-of-range index of a dispatch in the status word
 *   [tag, at, value, limit] (included with `status: true`).
 * - `erf`: `gelu_f32()`, `gelu_grad_f32()` and `gelu_f32_with_grad()` from erfc(|x|/√2) by Abramowitz & Stegun 7.1.26 (|error| ≤
 *   1.5e-7; WGSL has no erf), the twins of the float32 GELU paths of kernels/activations.ts.
 * - `hash`: `mix32()` and `dropout_hash()`, bit-identical to kernels/dropout.ts (u32 arithmetic wraps).
 * - `reduce`: `wg_sum()` and `wg_max()` over the workgroup (tree in workgroup memory; every invocation must
 *   call them, in uniform control flow; the result is uniform).
 * - `tanh`: `tanh_f32()`, tanh with its argument clamped to ±15 (some drivers give NaN for large |x|; tanh
 *   is ±1 in float32 well before 15).
 *
 * @module
 */

/** Names of the optional helpers. */
export type WgslHelper = "erf" | "hash" | "reduce" | "tanh";

/** The helpers' WGSL text. */
export const WGSL_HELPERS: Record<WgslHelper | "grid" | "status", string> = {
  grid: /* wgsl */ `
// flat index of this workgroup in a (nwg.x, nwg.y, nwg.z) grid
fn wg_linear(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}`,

  status: /* wgsl */ `
// record the first out-of-range index of the dispatch: status = [tag, at, value, limit]
fn report_oob(at: u32, value: i32, limit: u32) {
  loop {
    let r = atomicCompareExchangeWeak(&status[0], 0u, P.tag);
    if (r.exchanged) {
      atomicStore(&status[1], at);
      atomicStore(&status[2], bitcast<u32>(value));
      atomicStore(&status[3], limit);
      break;
    }
    if (r.old_value != 0u) { break; }
  }
}`,

  erf: /* wgsl */ `
// erfc(a) for a ≥ 0 to 1.5e-7 absolute (Abramowitz & Stegun 7.1.26) as poly(t)·e^(−a²); e = e^(−a²) is passed
// in so that one exp serves Φ and φ (the twin of geluForward32 / geluBackward32 in kernels/activations.ts)
fn erfc_poly(a: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.3275911 * a);
  return t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
}
// x·Φ(x), Φ(x) = ½·erfc(−x/√2): no cancellation for x < 0
fn gelu_f32(x: f32) -> f32 {
  let a = abs(x) * 0.70710678118654752;
  let q = erfc_poly(a) * exp(-a * a);             // erfc(|x|/√2)
  return select(x * (1.0 - 0.5 * q), 0.5 * x * q, x < 0.0);
}
// (gelu(x), gelu'(x)) from one erfc polynomial and one exp
fn gelu_f32_with_grad(x: f32) -> vec2<f32> {
  let a = abs(x) * 0.70710678118654752;
  let e = exp(-a * a);                             // e^(−x²/2)
  let q = erfc_poly(a) * e;
  let cdf = select(1.0 - 0.5 * q, 0.5 * q, x < 0.0);
  return vec2<f32>(x * cdf, cdf + x * 0.39894228040143268 * e);
}
// d gelu / dx = Φ(x) + x·φ(x)
fn gelu_grad_f32(x: f32) -> f32 {
  let a = abs(x) * 0.70710678118654752;
  let e = exp(-a * a);                             // e^(−x²/2)
  let q = erfc_poly(a) * e;
  let cdf = select(1.0 - 0.5 * q, 0.5 * q, x < 0.0);
  return cdf + x * 0.39894228040143268 * e;
}`,

  hash: /* wgsl */ `
// 32-bit finaliser, the twin of mix32 in kernels/dropout.ts
fn mix32(x0: u32) -> u32 {
  var x = x0;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  return x ^ (x >> 16u);
}
// the uint32 that decides element i of a dropout call with this seed: mix32 of a Weyl sequence
fn dropout_hash(i: u32, seed: u32) -> u32 {
  return mix32(i * 0x9e3779b9u + seed);
}`,

  reduce: /* wgsl */ `
var<workgroup> red_buf: array<f32, WG>;
// Σ of v over the workgroup (every invocation calls it; lid = local_invocation_index)
fn wg_sum(lid: u32, v: f32) -> f32 {
  red_buf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_buf[lid] = red_buf[lid] + red_buf[lid + s]; }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_buf[0]);
  workgroupBarrier();
  return r;
}
// max of v over the workgroup
fn wg_max(lid: u32, v: f32) -> f32 {
  red_buf[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (lid < s) { red_buf[lid] = max(red_buf[lid], red_buf[lid + s]); }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_buf[0]);
  workgroupBarrier();
  return r;
}`,

  tanh: /* wgsl */ `
fn tanh_f32(x: f32) -> f32 {
  return tanh(clamp(x, -15.0, 15.0));
}`,
};
