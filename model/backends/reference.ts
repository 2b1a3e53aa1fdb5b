/**
 * The reference backend: every operation of {@linkcode Backend} as the plain TypeScript loops of
 * model/kernels/ ({@linkcode CpuBackend} with nothing replaced), in float32 or float64. It is the oracle
 * for the other backends (`backends/conformance.ts` compares them with its float64 twin) and runs the
 * float64 finite-difference gradient checks.
 *
 * @example Usage
 * ```ts
 * import { ReferenceBackend } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const be = new ReferenceBackend();
 * const a = be.alloc([2, 2]), b = be.alloc([2, 2]), c = be.alloc([2, 2]);
 * be.write(a, [1, 2, 3, 4]);
 * be.write(b, [1, 0, 0, 1]);
 * be.matmul({ a, b, c, m: 2, n: 2, k: 2 });
 * assert.deepEqual([...await be.read(c)], [1, 2, 3, 4]);
 * ```
 *
 * @module
 */
import type { Backend } from "../backend.ts";
import { CpuBackend } from "./cpu.ts";

/** Plain TypeScript backend, float32 (default, name "reference") or float64 (name "reference64"). */
export class ReferenceBackend extends CpuBackend implements Backend {
  /** `precision: "float64"` makes every float tensor a Float64Array (for gradient checks). */
  constructor(opts: { precision?: "float32" | "float64" } = {}) {
    const precision = opts.precision ?? "float32";
    super(precision === "float64" ? "reference64" : "reference", precision);
  }
}
