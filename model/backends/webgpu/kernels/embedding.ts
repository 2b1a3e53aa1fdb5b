/**
 * embedding: VLP's word + position + segment sum (kernels/embedding.ts), one invocation per element of
 * out [B, L, C]. Slots 1..R take the region feature and region geometry embedding instead of the word and
 * position rows. Out-of-range token ids, segment ids and positions are reported through the status word
 * (the element is then left unwritten). Sums are formed in the reference's order: (word + pos) + segment.
 */
import type { KernelDef } from "../kernel.ts";
import { elementwise } from "./elementwise.ts";

const base = elementwise(
  "embedding",
  [
    { name: "ids", access: "read", type: "i32", shape: "[B, L]" },
    { name: "seg", access: "read", type: "i32", shape: "[B, L]" },
    { name: "position_ids", access: "read", type: "i32", shape: "[B, L] (placeholder without has_pos_ids)" },
    { name: "wte", access: "read", type: "f32", shape: "[V, C]" },
    { name: "wpe", access: "read", type: "f32", shape: "[maxPositions, C]" },
    { name: "wtt", access: "read", type: "f32", shape: "[typeVocab, C]" },
    { name: "regions", access: "read", type: "f32", shape: "[B, R, C] (placeholder when R = 0)" },
    { name: "region_pos", access: "read", type: "f32", shape: "[B, R, C] (placeholder when R = 0)" },
    { name: "out", access: "read_write", type: "f32", shape: "[B, L, C]" },
  ],
  `let c = i % P.c;
  let bl = i / P.c;                       // b·L + l
  let l = bl % P.l;
  let b = bl / P.l;
  let t = seg[P.seg_off + bl];
  if (t < 0 || u32(t) >= P.ntype) { report_oob(bl, t, P.ntype); return; }
  let tv = wtt[P.wtt_off + u32(t) * P.c + c];
  if (l >= 1u && l <= P.r) {
    let ro = (b * P.r + l - 1u) * P.c + c;
    out[P.out_off + i] = regions[P.regions_off + ro] + region_pos[P.region_pos_off + ro] + tv;
    return;
  }
  let id = ids[P.ids_off + bl];
  if (id < 0 || u32(id) >= P.nvocab) { report_oob(bl, id, P.nvocab); return; }
  let pos = select(i32(P.pos_offset + l), position_ids[P.position_ids_off + bl], P.has_pos_ids != 0u);
  if (pos < 0 || u32(pos) >= P.npos) { report_oob(bl, pos, P.npos); return; }
  out[P.out_off + i] = wte[P.wte_off + u32(id) * P.c + c] + wpe[P.wpe_off + u32(pos) * P.c + c] + tv;`,
  {
    uniforms: {
      l: "u32",
      c: "u32",
      r: "u32",
      pos_offset: "u32",
      has_pos_ids: "u32",
      nvocab: "u32",
      npos: "u32",
      ntype: "u32",
    },
  },
);

/** out [B, L, C] = word/region + position/geometry + segment rows */
export const EMBEDDING: KernelDef = { ...base, status: true };
