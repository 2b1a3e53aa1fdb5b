/** reduce_partials: out[0] = scale · Σ partial (one workgroup of 256, fixed order). */
import type { KernelDef } from "../kernel.ts";

/** the second stage of a two-stage sum */
export const REDUCE_PARTIALS: KernelDef = {
  name: "reduce_partials",
  workgroupSize: [256, 1],
  bindings: [
    { name: "partial", access: "read", type: "f32", shape: "[groups]" },
    { name: "out", access: "read_write", type: "f32", shape: "[1]" },
  ],
  uniforms: { groups: "u32", scale: "f32" },
  helpers: ["reduce"],
  body: /* wgsl */ `
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  for (var q = lid; q < P.groups; q += WG) { s += partial[P.partial_off + q]; }
  let total = wg_sum(lid, s);
  if (lid == 0u) { out[P.out_off] = P.scale * total; }
}`,
};
