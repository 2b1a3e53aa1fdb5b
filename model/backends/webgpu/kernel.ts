/**
 * How a WGSL kernel is declared: its binding layout as data ({@linkcode KernelDef}), from which the WGSL
 * header (the `Params` uniform struct, one `var<storage>` per binding with its shape comment) and the
 * bind group layout are generated. A kernel file then holds only the body: constants, helpers and `main`.
 *
 * Conventions every kernel follows:
 * - Binding 0 is the uniform `P: Params`. For every storage binding `x` it holds `x_off`, the element offset
 *   of the tensor inside the bound range (tensors are views of pooled buffers at any element offset; the
 *   runtime binds an aligned sub-range and passes the rest here). Index `x[P.x_off + i]`.
 * - Storage bindings follow in declaration order; `status` (when `status: true`) comes last: the runtime's
 *   error word, written by `report_oob()` when an index read from a tensor is out of range.
 * - Workgroups are numbered by `wg_linear(wid, nwg)` over a 1-, 2- or 3-d grid, so that one dispatch may
 *   exceed 65,535 workgroups (the runtime spreads the count over the grid's dimensions); every kernel
 *   guards against the padding workgroups at the end.
 * - A binding declared `read` is `var<storage, read>`; when the same buffer appears in two bindings of one
 *   dispatch with one of them writable, the runtime uses an "aliased" variant of the pipeline in which every
 *   storage binding is `read_write` (WebGPU forbids read-only and writable use of one buffer in a dispatch).
 *
 * @module
 */
import { WGSL_HELPERS, type WgslHelper } from "./wgsl.ts";

/**
 * Element type of a storage binding, spelled as in WGSL (`array<f32>`, ...). `u32` binds any 4-byte tensor
 * as raw bits (copies, fills).
 */
export type ElemType = "f32" | "i32" | "u32" | "f16";

/** One storage binding of a kernel. */
export interface BindingDef {
  /** WGSL variable name; `${name}_off` is its element offset in `P`. */
  readonly name: string;
  /** `read` or `read_write` (WGSL has no write-only storage). */
  readonly access: "read" | "read_write";
  readonly type: ElemType;
  /** shape comment, in the dimension glossary's letters, e.g. `[B, L, C]` */
  readonly shape: string;
  /**
   * Declared `array<vec4<type>>` (vector loads): the runtime then aligns the bound range so that `${name}_off`,
   * still counted in scalar elements, is a multiple of 4 when the tensor's own offset is; the kernel indexes
   * `x[(P.x_off + i) / 4u]` at i ≡ 0 (mod 4).
   */
  readonly vec4?: boolean;
}

/** Scalar types of uniforms. */
export type UniformType = "u32" | "i32" | "f32";

/** A compute kernel: binding layout, uniforms, workgroup size and WGSL body. */
export interface KernelDef {
  /** unique name (appears in error messages and the pipeline cache) */
  readonly name: string;
  /** workgroup size (x, y); x·y is `WG` in WGSL */
  readonly workgroupSize: readonly [number, number];
  readonly bindings: readonly BindingDef[];
  /** uniforms after the binding offsets, in this order */
  readonly uniforms: Readonly<Record<string, UniformType>>;
  /** whether the kernel reports out-of-range indices through the status word */
  readonly status?: boolean;
  /** needs `enable f16;` (device feature shader-f16) */
  readonly f16?: boolean;
  /** shared WGSL helpers to include */
  readonly helpers?: readonly WgslHelper[];
  /** WGSL: constants, workgroup variables, functions and `@compute fn main` (use `@workgroup_size(WG_X, WG_Y)`) */
  readonly body: string;
}

/** Invocations per workgroup of `k`, x·y (`WG` in its WGSL). */
export function invocations(k: KernelDef): number {
  return k.workgroupSize[0] * k.workgroupSize[1];
}

/** Names of the `Params` fields in order: binding offsets, `tag` (with status), then the uniforms. */
export function paramFields(k: KernelDef): [string, UniformType][] {
  const fields: [string, UniformType][] = k.bindings.map((b) => [`${b.name}_off`, "u32"]);
  if (k.status) fields.push(["tag", "u32"]);
  for (const [name, type] of Object.entries(k.uniforms)) fields.push([name, type]);
  return fields;
}

/** Byte size of the uniform struct (4 bytes per field, rounded up to 16). */
export function paramBytes(k: KernelDef): number {
  return Math.ceil((paramFields(k).length * 4) / 16) * 16;
}

/** The full WGSL source of a kernel; `aliased` declares every storage binding read_write. */
export function kernelSource(k: KernelDef, aliased = false): string {
  const [wx, wy] = k.workgroupSize;
  const lines: string[] = [];
  if (k.f16) lines.push("enable f16;");
  lines.push(`// kernel ${k.name}`);
  lines.push(`const WG_X: u32 = ${wx}u;`, `const WG_Y: u32 = ${wy}u;`, `const WG: u32 = ${wx * wy}u;`);
  lines.push("struct Params {");
  for (const [name, type] of paramFields(k)) lines.push(`  ${name}: ${type},`);
  lines.push("}");
  lines.push("@group(0) @binding(0) var<uniform> P: Params;");
  k.bindings.forEach((b, i) => {
    const access = aliased ? "read_write" : b.access;
    lines.push(
      `@group(0) @binding(${i + 1}) var<storage, ${access}> ${b.name}: array<${
        b.vec4 ? `vec4<${b.type}>` : b.type
      }>; // ${b.shape}`,
    );
  });
  if (k.status) {
    lines.push(
      `@group(0) @binding(${k.bindings.length + 1}) var<storage, read_write> status: array<atomic<u32>, 4>;`,
    );
  }
  lines.push(WGSL_HELPERS.grid);
  for (const h of k.helpers ?? []) lines.push(WGSL_HELPERS[h]);
  if (k.status) lines.push(WGSL_HELPERS.status);
  lines.push(k.body);
  return lines.join("\n");
}

/** Bind group layout entries of a kernel (uniform with a dynamic offset, then the storage bindings). */
export function layoutEntries(k: KernelDef, aliased: boolean): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [
    { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform", hasDynamicOffset: true } },
  ];
  k.bindings.forEach((b, i) => {
    const type = aliased || b.access === "read_write" ? "storage" : "read-only-storage";
    entries.push({ binding: i + 1, visibility: GPUShaderStage.COMPUTE, buffer: { type } });
  });
  if (k.status) {
    entries.push({
      binding: k.bindings.length + 1,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: "storage" },
    });
  }
  return entries;
}
