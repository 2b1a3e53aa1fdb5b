/**
 * scatter_rows (fused): the backward of a row gather, written rather than accumulated, for dx [Bx, M, D],
 * dout [Bx, P, D] and index [Bx, P]:
 *
 *   dx[b, m, :] = Σ_{p : index[b, p] = m} dout[b, p, :]   (p in order; 0 where no index is m)
 *
 * one invocation per element of dx, each scanning the P indices of its batch item (P is a few masked
 * positions). The sum starts at 0 and adds the rows in order, as scatter_add_grouped adds them onto a
 * zero-filled dx, so the result equals `fill` then `scatterAddRows` bit for bit (the unfused twin,
 * fused_test.ts). Indices outside [0, M) are reported through the status word (and add nothing).
 */
import type { KernelDef } from "../kernel.ts";
import { elementwise } from "./elementwise.ts";

const base = elementwise(
  "scatter_rows",
  [
    { name: "dout", access: "read", type: "f32", shape: "[Bx, P, D]" },
    { name: "index", access: "read", type: "i32", shape: "[Bx, P]" },
    { name: "dx", access: "read_write", type: "f32", shape: "[Bx, M, D] (written)" },
  ],
  `let d = i % P.d;
  let bm = i / P.d;                       // b·M + m
  let m = bm % P.m;
  let b = bm / P.m;
  var s = 0.0;
  for (var p = 0u; p < P.p; p++) {
    let bp = b * P.p + p;
    let k = index[P.index_off + bp];
    if (k < 0 || k >= i32(P.m)) {
      if (m == 0u && d == 0u) { report_oob(bp, k, P.m); }
      continue;
    }
    if (k == i32(m)) { s += dout[P.dout_off + bp * P.d + d]; }
  }
  dx[P.dx_off + i] = s;`,
  { uniforms: { d: "u32", p: "u32", m: "u32" } },
);

/** dx [Bx, M, D] = the rows of dout added at their indices, 0 elsewhere */
export const SCATTER_ROWS: KernelDef = { ...base, status: true };
