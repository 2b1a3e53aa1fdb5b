/**
 * The shared shape of deterministic two-stage reductions: stage 1 runs `groups` workgroups of 256, each
 * summing a term over a grid-stride range of the n elements into partial[part_base + workgroup]; stage 2
 * (reduce_partials, or the consumer itself) adds the partials in a fixed order.
 *
 * @module
 */
import type { BindingDef, KernelDef } from "../kernel.ts";

/** Workgroups of a stage-1 dispatch for n elements (at most 256, so that stage 2 is one workgroup). */
export function partialGroups(n: number): number {
  return Math.max(1, Math.min(256, Math.ceil(n / 256)));
}

/** A stage-1 kernel: partial[part_base + wg] = Σ over its elements i of `term` (a WGSL f32 expression of i). */
export function partialSumKernel(name: string, inputs: readonly BindingDef[], term: string): KernelDef {
  return {
    name,
    workgroupSize: [256, 1],
    bindings: [...inputs, { name: "partial", access: "read_write", type: "f32", shape: "[groups]" }],
    uniforms: { n: "u32", groups: "u32", part_base: "u32" },
    helpers: ["reduce"],
    body: /* wgsl */ `
fn term(i: u32) -> f32 {
  ${term}
}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var i = wid.x * WG + lid; i < P.n; i += P.groups * WG) { s += term(i); }
  let total = wg_sum(lid, s);
  if (lid == 0u) { partial[P.partial_off + P.part_base + wid.x] = total; }
}`,
  };
}
