/**
 * copy_strided: dst[i·ds0 + j·ds1 + w] = src[i·ss0 + j·ss1 + w] for a block of shape [n0, n1, W]
 * (raw 32-bit elements). One invocation per element of the block; `copy` is the case [1, 1, n].
 */
import { elementwise } from "./elementwise.ts";

/** strided block copy */
export const COPY_STRIDED = elementwise(
  "copy_strided",
  [
    { name: "src", access: "read", type: "u32", shape: "[n0·ss0 + n1·ss1 + W] (strided)" },
    { name: "dst", access: "read_write", type: "u32", shape: "[n0·ds0 + n1·ds1 + W] (strided)" },
  ],
  `let w = i % P.width;
  let r = i / P.width;     // block row index over [n0, n1]
  let j = r % P.n1;
  let i0 = r / P.n1;
  dst[P.dst_off + i0 * P.ds0 + j * P.ds1 + w] = src[P.src_off + i0 * P.ss0 + j * P.ss1 + w];`,
  { uniforms: { width: "u32", n1: "u32", ss0: "u32", ss1: "u32", ds0: "u32", ds1: "u32" } },
);
