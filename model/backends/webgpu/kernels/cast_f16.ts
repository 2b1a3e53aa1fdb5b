/**
 * cast_f16: out[i] = f16(x[i]), round to nearest, clamped to ±65504 (the largest finite float16) so that a
 * large weight saturates instead of becoming infinite; NaN stays NaN. The float16 weight copy of --fp16
 * (the float32 masters are what the optimiser updates). Its twin is `Math.f16round` on the host.
 */
import type { KernelDef } from "../kernel.ts";
import { elementwise } from "./elementwise.ts";

/** out (float16) = x (float32) */
export const CAST_F16: KernelDef = {
  ...elementwise(
    "cast_f16",
    [
      { name: "x", access: "read", type: "f32", shape: "[n]" },
      { name: "out", access: "read_write", type: "f16", shape: "[n]" },
    ],
    `let v = x[P.x_off + i];
  out[P.out_off + i] = select(f16(clamp(v, -65504.0, 65504.0)), f16(v), v != v);`,
  ),
  f16: true,
};
