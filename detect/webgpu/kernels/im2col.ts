/** im2col: a band of output rows of a k×k convolution unfolded (twin: `im2col` of ../../ops.ts). */
import { elementwise, type KernelDef } from "@vlp/model";

/** col[r, p] for r = (ci·k + ky)·k + kx < C·k·k, p < P = (y1 − y0)·wo: x[ci, oy·s − pad + ky, ox·s − pad + kx] or 0. */
export const IM2COL: KernelDef = elementwise(
  "detect_im2col",
  [
    { name: "x", access: "read", type: "f32", shape: "[C, H, W]" },
    { name: "col", access: "read_write", type: "f32", shape: "[C·k·k, P]" },
  ],
  `let p = i % P.np; let r = i / P.np;
  let kx = i32(r % P.k); let ky = i32((r / P.k) % P.k); let ci = r / (P.k * P.k);
  let oy = i32(P.y0 + p / P.wo); let ox = i32(p % P.wo);
  let iy = oy * i32(P.stride) - i32(P.pad) + ky; let ix = ox * i32(P.stride) - i32(P.pad) + kx;
  var v = 0.0;
  if (iy >= 0 && iy < i32(P.h) && ix >= 0 && ix < i32(P.w)) {
    v = x[P.x_off + (ci * P.h + u32(iy)) * P.w + u32(ix)];
  }
  col[P.col_off + i] = v;`,
  { uniforms: { h: "u32", w: "u32", k: "u32", stride: "u32", pad: "u32", wo: "u32", y0: "u32", np: "u32" } },
);
