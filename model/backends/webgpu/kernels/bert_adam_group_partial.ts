/**
 * bert_adam_group_partial: stage 1 of BertAdam over a group of tensors in one dispatch (see
 * bert_adam_group.ts): workgroup c sums g² over its chunk, partial[c]. Chunk c belongs to tensor
 * t = chunk_tensor[c] and covers its elements [j·CH, min(n_t, (j + 1)·CH)), j = c − first_t.
 *
 * `tab` holds 8 words per tensor t: [param_off, grad_off, m_off, v_off, n, first_chunk, chunks, wd bits],
 * offsets relative to the group's bound ranges.
 */
import type { BindingDef, KernelDef } from "../kernel.ts";

/** Words of `tab` per tensor. */
export const GROUP_TAB_WORDS = 8;

/** The group's tables, bound by both kernels. */
export const GROUP_TABLES: readonly BindingDef[] = [
  { name: "tab", access: "read", type: "u32", shape: "[T, 8]" },
  { name: "chunk_tensor", access: "read", type: "u32", shape: "[chunks]" },
];

/** WGSL of both kernels: where chunk c is. */
export const GROUP_CHUNK_WGSL = /* wgsl */ `
struct Chunk {
  row: u32,  // first word of its tensor's row of tab
  j0: u32,   // its element range [j0, j1) in the tensor
  j1: u32,
}
fn group_chunk(c: u32) -> Chunk {
  let row = P.tab_off + chunk_tensor[P.chunk_tensor_off + c] * 8u;
  let j0 = (c - tab[row + 5u]) * P.ch;
  return Chunk(row, j0, min(tab[row + 4u], j0 + P.ch));
}`;

/** Σ g² of every chunk of every tensor of the group */
export const BERT_ADAM_GROUP_PARTIAL: KernelDef = {
  name: "bert_adam_group_partial",
  workgroupSize: [256, 1],
  bindings: [
    { name: "grad", access: "read", type: "f32", shape: "[Σ n_t] (the group's gradients)" },
    ...GROUP_TABLES,
    { name: "partial", access: "read_write", type: "f32", shape: "[chunks]" },
  ],
  uniforms: { chunks: "u32", ch: "u32" },
  helpers: ["reduce"],
  body: /* wgsl */ `${GROUP_CHUNK_WGSL}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = wg_linear(wid, nwg);
  if (c >= P.chunks) { return; }  // whole padding workgroups
  let k = group_chunk(c);
  let g0 = P.grad_off + tab[k.row + 1u];
  var s = 0.0;
  for (var j = k.j0 + lid; j < k.j1; j += WG) {
    let g = grad[g0 + j];
    s += g * g;
  }
  let total = wg_sum(lid, s);
  if (lid == 0u) { partial[P.partial_off + c] = total; }
}`,
};
