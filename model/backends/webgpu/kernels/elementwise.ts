/**
 * Builder of element-wise kernels: one invocation per element i < `P.n` over a 1-d range (spread over a
 * 2-d/3-d grid of 256-wide workgroups), running one WGSL statement in which `i` is the element index.
 *
 * @module
 */
import type { BindingDef, KernelDef, UniformType } from "../kernel.ts";
import type { WgslHelper } from "../wgsl.ts";

/** Invocations per workgroup of element-wise kernels. */
export const ELEMENTWISE_WG = 256;

/** An element-wise kernel running `statement` for each i < P.n (uniform `n` is added). */
export function elementwise(
  name: string,
  bindings: readonly BindingDef[],
  statement: string,
  opts: { uniforms?: Record<string, UniformType>; helpers?: readonly WgslHelper[] } = {},
): KernelDef {
  return {
    name,
    workgroupSize: [ELEMENTWISE_WG, 1],
    bindings,
    uniforms: { n: "u32", ...opts.uniforms },
    helpers: opts.helpers,
    body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = wg_linear(wid, nwg) * WG + lid;
  if (i >= P.n) { return; }
  ${statement}
}`,
  };
}
