/**
 * embedding_keys: the table row each input slot of the embedding adds into, for the backward's grouped
 * scatter-adds: keys[0, n] = token id, keys[1, n] = position (posOffset + l, or position_ids[n] when
 * `has_pos_ids` = 1), keys[2, n] = segment id, for
 * n = b·L + l; region slots (1..R) get −1 (nothing) in the word and position keys.
 */
import { elementwise } from "./elementwise.ts";

/** keys [3, B·L] */
export const EMBEDDING_KEYS = elementwise(
  "embedding_keys",
  [
    { name: "ids", access: "read", type: "i32", shape: "[B, L]" },
    { name: "seg", access: "read", type: "i32", shape: "[B, L]" },
    { name: "position_ids", access: "read", type: "i32", shape: "[B, L] (placeholder without has_pos_ids)" },
    { name: "keys", access: "read_write", type: "i32", shape: "[3, B·L]" },
  ],
  `let l = i % P.l;
  let region = l >= 1u && l <= P.r;
  keys[P.keys_off + i] = select(ids[P.ids_off + i], -1, region);
  let pos = select(i32(P.pos_offset + l), position_ids[P.position_ids_off + i], P.has_pos_ids != 0u);
  keys[P.keys_off + P.n + i] = select(pos, -1, region);
  keys[P.keys_off + 2u * P.n + i] = seg[P.seg_off + i];`,
  { uniforms: { l: "u32", r: "u32", pos_offset: "u32", has_pos_ids: "u32" } },
);
