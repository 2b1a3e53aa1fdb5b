/**
 * gather_rows: out[b, p, :] = x[b, index[b, p], :] for x [Bx, M, D], one invocation per element of out.
 * Out-of-range indices are reported through the status word (the row is written as zeros).
 */
import type { KernelDef } from "../kernel.ts";
import { elementwise } from "./elementwise.ts";

const base = elementwise(
  "gather_rows",
  [
    { name: "x", access: "read", type: "f32", shape: "[Bx, M, D]" },
    { name: "index", access: "read", type: "i32", shape: "[Bx, P]" },
    { name: "out", access: "read_write", type: "f32", shape: "[Bx, P, D]" },
  ],
  `let d = i % P.d;
  let bp = i / P.d;                       // b·P + p
  let b = bp / P.p;
  let m = index[P.index_off + bp];
  if (m < 0 || u32(m) >= P.m) {
    report_oob(bp, m, P.m);
    out[P.out_off + i] = 0.0;
    return;
  }
  out[P.out_off + i] = x[P.x_off + (b * P.m + u32(m)) * P.d + d];`,
  { uniforms: { d: "u32", p: "u32", m: "u32" } },
);

/** out [Bx, P, D] = rows of x picked by index */
export const GATHER_ROWS: KernelDef = { ...base, status: true };
