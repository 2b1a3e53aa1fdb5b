/**
 * The shared shape of deterministic two-stage reductions: stage 1 runs `groups` workgroups of
 * {@linkcode PARTIAL_WG}, each summing a term over a grid-stride range of the n elements into
 * partial[part_base + workgroup]; stage 2 (reduce_partials, or the consumer itself) adds the partials in a
 * fixed order.
 *
 * @module
 */
import { type BindingDef, invocations, type KernelDef } from "../kernel.ts";
import { REDUCE_PARTIALS } from "./reduce_partials.ts";

/** Invocations per workgroup of a stage-1 kernel. */
export const PARTIAL_WG = 256;

/**
 * Most workgroups of a stage-1 dispatch: one partial per invocation of the stage-2 workgroup
 * (reduce_partials), so that stage 2 is one workgroup adding at most one partial per invocation.
 */
export const MAX_PARTIALS: number = invocations(REDUCE_PARTIALS);

/** Workgroups of the stage-1 dispatch of `k` for n elements: ⌈n / its workgroup size⌉, 1..MAX_PARTIALS. */
export function partialGroups(k: KernelDef, n: number): number {
  return Math.max(1, Math.min(MAX_PARTIALS, Math.ceil(n / invocations(k))));
}

/** A stage-1 kernel: partial[part_base + wg] = Σ over its elements i of `term` (a WGSL f32 expression of i). */
export function partialSumKernel(name: string, inputs: readonly BindingDef[], term: string): KernelDef {
  return {
    name,
    workgroupSize: [PARTIAL_WG, 1],
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
