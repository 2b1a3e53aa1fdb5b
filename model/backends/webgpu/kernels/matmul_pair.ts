/**
 * matmul_pair_*: two independent GEMMs of kernels/matmul.ts in one dispatch, as a Linear's backward runs
 * them (the weight gradient dW += dYᵀ·X and the input gradient dX = dY·W; no counterpart in the original,
 * where cuBLAS runs them one after the other):
 *
 *   C₀ = alpha₀ · op(A₀)·op(B₀) + beta₀ · C₀      (bindings a, b, c; uniforms m, n, …)
 *   C₁ = alpha₁ · op(A₁)·op(B₁) + beta₁ · C₁      (bindings a_1, b_1, c_1; uniforms m_1, n_1, …)
 *
 * Both products share one tile shape, so one workgroup size and one pair of workgroup arrays (product 1 has
 * an A or B array of its own only where its element types differ, {@linkcode gemmPairBytes}); each keeps its
 * own transposes, vector loads and storage types. The
 * grid is flat: workgroups [0, T₀) compute the tiles of product 0 (T₀ = ⌈n/BN⌉·⌈m/BM⌉·items, tile order as
 * the GEMM's grid x, y, z), the next T₁ those of product 1. The caller puts the product with the longer k
 * first, so that its long-running workgroups start first. Each tile runs the GEMM's own statements (the
 * functions of product 1 are the GEMM's with every identifier suffixed `_1`), so C₀ and C₁ are bit for bit
 * those of the two GEMMs run apart (matmul_test.ts). No bias, no epilogue; the caller issues at most 65,535
 * batch items per product.
 *
 * @module
 */
import type { KernelDef, UniformType } from "../kernel.ts";
import {
  GEMM_TILES,
  GEMM_UNIFORMS,
  gemmArrayBytes,
  gemmBindings,
  type GemmVariant,
  gemmVariantName,
  gemmWgsl,
  stagedA,
  stagedB,
} from "./matmul.ts";

/** The identifiers of one product's WGSL: its bindings, functions, and the uniforms it reads from `P`. */
const BINDING = /\b(a|b|c)\[/g;
const FUNCTION = /\b(a_coord|b_coord|a_load|b_load|store4|gemm_tile)\(/g;
const UNIFORM = /\bP\.(\w+)/g;

/**
 * One product's WGSL with its identifiers suffixed by `s` (P.a_off becomes P.a_1_off, as the binding a_1's),
 * and its workgroup arrays named in `arrays` (As, Bs) too.
 */
function suffixed(wgsl: string, s: string, arrays: readonly string[]): string {
  let out = wgsl
    .replace(BINDING, `$1${s}[`)
    .replace(FUNCTION, `$1${s}(`)
    .replace(UNIFORM, (_, f: string) => (f.endsWith("_off") ? `P.${f.slice(0, -4)}${s}_off` : `P.${f}${s}`));
  for (const name of arrays) out = out.replace(new RegExp(`\\b${name}\\[`, "g"), `${name}${s}[`);
  return out;
}

/** The workgroup arrays product 1 needs of its own: As where the staged A types differ, Bs where B's do. */
function ownArrays(v0: GemmVariant, v1: GemmVariant): ("As" | "Bs")[] {
  const own: ("As" | "Bs")[] = [];
  if (stagedA(v0) !== stagedA(v1)) own.push("As");
  if (stagedB(v0) !== stagedB(v1)) own.push("Bs");
  return own;
}

/** Bytes of workgroup memory the pair of `v0` and `v1` declares (the tile's, and product 1's own arrays). */
export function gemmPairBytes(v0: GemmVariant, v1: GemmVariant): number {
  const staged = (v: GemmVariant, array: "As" | "Bs") => (array === "As" ? stagedA(v) : stagedB(v));
  let total = gemmArrayBytes(v0.tile, "As", stagedA(v0)) + gemmArrayBytes(v0.tile, "Bs", stagedB(v0));
  for (const array of ownArrays(v0, v1)) total += gemmArrayBytes(v0.tile, array, staged(v1, array));
  return total;
}

/** The uniforms of the pair: the GEMM's without the bias flag, and the batch items, for each product. */
function pairUniforms(): Record<string, UniformType> {
  const u: Record<string, UniformType> = {};
  for (const s of ["", "_1"]) {
    for (const [name, type] of Object.entries(GEMM_UNIFORMS)) if (name !== "has_bias") u[name + s] = type;
    u[`items${s}`] = "u32";
  }
  return u;
}

const cache = new Map<string, KernelDef>();

/** The kernel of two GEMM variants of one tile run as a pair (memoised). */
export function gemmPairKernel(v0: GemmVariant, v1: GemmVariant): KernelDef {
  if (v0.tile !== v1.tile) {
    throw new TypeError(`Cannot pair GEMMs of tiles ${v0.tile} and ${v1.tile}: a pair shares one tile`);
  }
  const name = `matmul_pair_${gemmVariantName(v0)}_${gemmVariantName(v1)}`;
  let k = cache.get(name);
  if (k) return k;
  const t = GEMM_TILES[v0.tile];
  const p0 = gemmWgsl(v0, false), p1 = gemmWgsl(v1, false);
  // product 1 stages into arrays of its own only where its element types differ from product 0's
  const own = ownArrays(v0, v1);
  const decls1 = p1.decls.split("\n")
    .filter((l) => own.some((name) => l.startsWith(`var<workgroup> ${name}:`)))
    .map((l) => l.replace(/\b(As|Bs):/, "$1_1:") + "\n")
    .join("");
  const tileFn = (p: { fns: string; tile: string }) =>
    `${p.fns}\nfn gemm_tile(wid: vec3<u32>, lid3: vec3<u32>, lid: u32) {\n${p.tile}\n}\n`;
  k = {
    name,
    workgroupSize: [t.bn / t.tn, t.bm / t.tm],
    f16: [stagedA(v0), stagedB(v0), stagedA(v1), stagedB(v1)].includes("f16"),
    bindings: [...gemmBindings(v0), ...gemmBindings(v1, "_1")],
    uniforms: pairUniforms(),
    body: /* wgsl */ `${p0.decls}${decls1}
// product 0
${tileFn(p0)}
// product 1
${suffixed(tileFn(p1), "_1", own)}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // the flat workgroup index: product 0's tiles first, then product 1's (grid x, y, z of each GEMM)
  let w = wg_linear(wid, nwg);
  let gx = (P.n + BN - 1u) / BN;
  let gy = (P.m + BM - 1u) / BM;
  let tiles = gx * gy * P.items;
  if (w < tiles) {
    gemm_tile(vec3<u32>(w % gx, (w / gx) % gy, w / (gx * gy)), lid3, lid);
    return;
  }
  let u = w - tiles;
  let gx_1 = (P.n_1 + BN - 1u) / BN;
  let gy_1 = (P.m_1 + BM - 1u) / BM;
  if (u >= gx_1 * gy_1 * P.items_1) { return; }
  gemm_tile_1(vec3<u32>(u % gx_1, (u / gx_1) % gy_1, u / (gx_1 * gy_1)), lid3, lid);
}`,
  };
  cache.set(name, k);
  return k;
}
