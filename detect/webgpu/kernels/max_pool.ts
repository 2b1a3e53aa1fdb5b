/** Max pooling k×k, stride, padding as −∞ (twin: `maxPool` of ../../ops.ts). */
import { elementwise, type KernelDef } from "@vlp/model";

/** out[c, oy, ox] = max over the window of x[c, oy·s − pad + ky, ox·s − pad + kx] inside the map. */
export const MAX_POOL: KernelDef = elementwise(
  "detect_max_pool",
  [
    { name: "x", access: "read", type: "f32", shape: "[C, H, W]" },
    { name: "out", access: "read_write", type: "f32", shape: "[C, Ho, Wo]" },
  ],
  `let ox = i32(i % P.wo); let oy = i32((i / P.wo) % P.ho); let c = i / (P.wo * P.ho);
  var m = -3.4028234663852886e38;
  for (var ky = 0; ky < i32(P.k); ky++) {
    let iy = oy * i32(P.stride) - i32(P.pad) + ky;
    if (iy < 0 || iy >= i32(P.h)) { continue; }
    for (var kx = 0; kx < i32(P.k); kx++) {
      let ix = ox * i32(P.stride) - i32(P.pad) + kx;
      if (ix >= 0 && ix < i32(P.w)) { m = max(m, x[P.x_off + (c * P.h + u32(iy)) * P.w + u32(ix)]); }
    }
  }
  out[P.out_off + i] = m;`,
  { uniforms: { h: "u32", w: "u32", ho: "u32", wo: "u32", k: "u32", stride: "u32", pad: "u32" } },
);
