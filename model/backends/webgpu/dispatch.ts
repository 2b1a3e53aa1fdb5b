/**
 * Dispatch helpers every op of the WebGPU backend uses (ops/*.ts): workgroup counts from a kernel's own
 * workgroup size, splitting work into ranges that fit one storage binding, element-wise dispatches, and the
 * deterministic two-stage sums (partial sums, column sums).
 *
 * A {@linkcode Dispatcher} wraps the runtime (buffers, recording; runtime.ts) with the per-binding element
 * limit of its device. It holds no other state: the plan caches live with the ops that use them.
 *
 * @module
 */
import { invocations, type KernelDef } from "./kernel.ts";
import { type Bind, type GpuRuntime, GpuTensor } from "./runtime.ts";
import { FILL } from "./kernels/fill.ts";
import { SUM_ROWS } from "./kernels/sum_rows.ts";
import { SUM_ROWS_PARTIAL } from "./kernels/sum_rows_partial.ts";
import { partialGroups } from "./kernels/partials.ts";

/** Bytes kept free under the binding limit: a binding's start is aligned down by up to this much. */
const BINDING_ALIGN_SLACK_BYTES = 256;

/** Rows per chunk of the two-stage column sums (sum_rows_partial, layernorm_params_partial). */
export const CHUNK_ROWS = 64;

/** A range [lo, hi) of a tensor as a binding. */
export function range(t: GpuTensor, lo: number, hi: number): Bind {
  return { t, lo, hi };
}

/** The float32 bit pattern of v (as the u32 a `fill` kernel writes). */
export function f32Bits(v: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, v, true);
  return b.getUint32(0, true);
}

/** The runtime plus the device's binding limit in elements, and the dispatch patterns built on them. */
export class Dispatcher {
  /** Device, buffers, recording. */
  readonly rt: GpuRuntime;
  /** Elements of 4 bytes one binding may span (minus the alignment slack). */
  readonly maxElems: number;

  /** Dispatch through `rt`. */
  constructor(rt: GpuRuntime) {
    this.rt = rt;
    this.maxElems = Math.max(64, Math.floor((rt.maxBindingBytes - BINDING_ALIGN_SLACK_BYTES) / 4));
  }

  /** Workgroups of `k` for n invocations (one per element or column): ⌈n / its workgroup size⌉. */
  groups(k: KernelDef, n: number): number {
    return Math.ceil(n / invocations(k));
  }

  /** [0, n) in ranges of at most one binding's elements ([[0, 0]] for n = 0 when `keepEmpty`). */
  ranges(n: number, keepEmpty = false): [number, number][] {
    const out: [number, number][] = [];
    for (let s = 0; s < n; s += this.maxElems) out.push([s, Math.min(n, s + this.maxElems)]);
    if (keepEmpty && out.length === 0) out.push([0, 0]);
    return out;
  }

  /** A view of `n` elements at element `offset` of `t`. */
  sub(t: GpuTensor, offset: number, n: number): GpuTensor {
    return new GpuTensor(t.storage, t.offset + offset, [n], t.dtype, t.elem, true);
  }

  /** Run an element-wise kernel over n elements of every tensor in `ts`, in binding-sized ranges. */
  elementwise(
    k: KernelDef,
    ts: Record<string, GpuTensor>,
    n: number,
    uniforms: (start: number) => Record<string, number> = () => ({}),
  ): void {
    for (const [s, e] of this.ranges(n)) {
      const binds: Record<string, Bind> = {};
      for (const [name, t] of Object.entries(ts)) binds[name] = range(t, s, e);
      this.rt.dispatch(k, binds, { n: e - s, ...uniforms(s) }, this.groups(k, e - s));
    }
  }

  /** t[:] = value (raw bits for int32 tensors). */
  fill(t: GpuTensor, value: number): void {
    const bits = t.dtype === "int32" ? value >>> 0 : f32Bits(value);
    this.elementwise(FILL, { out: t }, t.size, () => ({ bits }));
  }

  /** Split `rows` rows of width `width` into parts that fit a binding. */
  rowParts(op: string, rows: number, width: number): [number, number][] {
    const per = Math.floor(this.maxElems / Math.max(1, width));
    if (per < 1) {
      throw new RangeError(
        `Cannot run ${op}: one row of ${width} elements exceeds the storage binding limit`,
      );
    }
    const parts: [number, number][] = [];
    for (let r = 0; r < rows; r += per) parts.push([r, Math.min(rows, r + per)]);
    return parts;
  }

  /** Stage 1 of a two-stage sum over n elements of `ts`, in binding-sized ranges: the partials and their count. */
  partialSums(
    k: KernelDef,
    ts: Record<string, GpuTensor>,
    n: number,
  ): { partial: GpuTensor; count: number } {
    const ranges = this.ranges(n, true);
    const groups = ranges.map(([s, e]) => partialGroups(k, e - s));
    const count = groups.reduce((x, y) => x + y, 0);
    const partial = this.rt.scratch(count);
    let base = 0;
    ranges.forEach(([s, e], i) => {
      const binds: Record<string, Bind> = { partial };
      for (const [name, t] of Object.entries(ts)) binds[name] = range(t, s, e);
      this.rt.dispatch(k, binds, { n: e - s, groups: groups[i], part_base: base }, groups[i]);
      base += groups[i];
    });
    return { partial, count };
  }

  /**
   * out[j] (+)= Σ_r x[r, j]: up to CHUNK_ROWS rows directly, else two-stage (chunk sums, then the chunks in
   * order). Row ranges split by the binding limit are added into `out` one after another.
   */
  columnSum(op: string, x: GpuTensor, out: GpuTensor, rows: number, n: number, accumulate: boolean): void {
    if (rows === 0) {
      if (!accumulate) this.fill(out, 0);
      return;
    }
    const parts = this.rowParts(op, rows, n);
    if (parts.length > 1) {
      parts.forEach(([r0, r1], i) =>
        this.columnSum(op, this.sub(x, r0 * n, (r1 - r0) * n), out, r1 - r0, n, i > 0 || accumulate)
      );
      return;
    }
    const acc = accumulate ? 1 : 0;
    if (rows <= CHUNK_ROWS) {
      this.rt.dispatch(
        SUM_ROWS,
        { x: range(x, 0, rows * n), out },
        { rows, n, accumulate: acc },
        this.groups(SUM_ROWS, n),
      );
      return;
    }
    const chunks = Math.ceil(rows / CHUNK_ROWS);
    const partial = this.rt.scratch(chunks * n);
    this.rt.dispatch(
      SUM_ROWS_PARTIAL,
      { x: range(x, 0, rows * n), partial },
      { rows, n, chunk_rows: CHUNK_ROWS, chunks },
      this.groups(SUM_ROWS_PARTIAL, chunks * n),
    );
    this.rt.dispatch(
      SUM_ROWS,
      { x: partial, out },
      { rows: chunks, n, accumulate: acc },
      this.groups(SUM_ROWS, n),
    );
    this.rt.free(partial);
  }
}
