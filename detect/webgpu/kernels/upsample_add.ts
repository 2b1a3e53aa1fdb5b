/** FPN's top-down step: lateral += nearest-2× upsampled top, in place (twin: `upsampleAdd` of ../../ops.ts). */
import { elementwise, type KernelDef } from "@vlp/model";

/** lat[c, y, x] += top[c, y / 2, x / 2]. */
export const UPSAMPLE_ADD: KernelDef = elementwise(
  "detect_upsample_add",
  [
    { name: "top", access: "read", type: "f32", shape: "[C, ⌈H/2⌉, ⌈W/2⌉]" },
    { name: "lat", access: "read_write", type: "f32", shape: "[C, H, W]" },
  ],
  `let x = i % P.w; let y = (i / P.w) % P.h; let c = i / (P.w * P.h);
  lat[P.lat_off + i] = lat[P.lat_off + i] + top[P.top_off + (c * P.th + y / 2u) * P.tw + x / 2u];`,
  { uniforms: { h: "u32", w: "u32", th: "u32", tw: "u32" } },
);
