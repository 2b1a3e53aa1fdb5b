/** embedding_regions_backward: dregions[b, r, :] = dregion_pos[b, r, :] = dout[b, 1 + r, :] (written). */
import { elementwise } from "./elementwise.ts";

/** region gradients of the embedding sum */
export const EMBEDDING_REGIONS_BACKWARD = elementwise(
  "embedding_regions_backward",
  [
    { name: "dout", access: "read", type: "f32", shape: "[B, L, C]" },
    { name: "dregions", access: "read_write", type: "f32", shape: "[B, R, C]" },
    { name: "dregion_pos", access: "read_write", type: "f32", shape: "[B, R, C]" },
  ],
  `let c = i % P.c;
  let br = i / P.c;
  let r = br % P.r;
  let b = br / P.r;
  let v = dout[P.dout_off + (b * P.l + 1u + r) * P.c + c];
  dregions[P.dregions_off + i] = v;
  dregion_pos[P.dregion_pos_off + i] = v;`,
  { uniforms: { l: "u32", c: "u32", r: "u32" } },
);
