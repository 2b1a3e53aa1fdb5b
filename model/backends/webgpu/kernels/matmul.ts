/**
 * matmul: batched tiled GEMM, row-major with cblas semantics (see `MatmulArgs` in backend.ts), per batch
 * item z = (i0, i1, i2):
 *
 *   C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C (+ bias[n] on every row)
 *
 * One workgroup computes a BM×BN tile of C; each of its (BN/TN)×(BM/TM) invocations a TM×TN block held in
 * registers as vec4 rows. K advances in steps of BK, each K tile's products summed into fresh registers and
 * then added to the running sums (block summation: float32 error ~(BK + K/BK)·ε rather than K·ε; the
 * parity rules of model/README.md depend on it, and every load and staging variant below keeps this order,
 * so they give bit-identical C for the same tile). The A and B tiles are staged in workgroup memory
 * (k-major, padded by one vec4 per k-row against bank conflicts); the next tile's global loads are issued
 * into registers before the current tile is multiplied (software prefetch).
 *
 * - **Stages** (`stages` of the tile): 1, stage, barrier, prefetch, multiply, barrier; 2 (double-buffered,
 *   `_db` tiles), the next tile is staged into the other copy while this one is multiplied, one barrier per
 *   K-step.
 * - **Loads**: coalesced along the stored rows for every transpose case. Scalar and bounds-checked, so any
 *   m, n, k, leading dimension and element offset works (views into [L, 3C] rows included); or, per operand
 *   (`vecA`, `vecB`: the `_v44`, `_v41`, `_v14` names), vec4 loads of four consecutive elements of a stored
 *   row (a binding declared `array<vec4<T>>`), which the caller may ask for only when the row extent, the
 *   leading dimension, the batch strides and the offset are multiples of 4 (ops/matmul.ts, `vecOperand`);
 *   a vec4 is then entirely inside or outside the matrix, so one bounds check covers it.
 *
 * An invocation's rows are ty·4 + {0..3} (+ g·WY·4 for its g-th row group) and its columns tx·4 + {0..3}
 * (+ h·WX·4), so that neighbouring invocations read neighbouring vec4s of the tiles.
 *
 * Variants (one pipeline each): transA × transB × tile (one of `GEMM_TILES`; which one the backend picks
 * is its plan, ops/matmul.ts and ops/gemm_table.ts) × storage ("f32", "f16" for A and B, or "f32_f16":
 * float16 B only, the weights of --fp16; products and accumulation in float32; C and bias stay float32) ×
 * vector loads of A and of B × math (`_m16`: the tiles staged in float16, float32 operands rounded on load,
 * and each K tile's products summed in float16 before they join the float32 running sums; error ≤ about
 * BK·2⁻¹¹·Σ|a·b| per output, half_test.ts; the --fp16 option `gemmHalfMath`).
 *
 * Grid: x = ⌈n/BN⌉, y = ⌈m/BM⌉, z = batch items from `z_base` (≤ 65,535 per dispatch; the backend
 * issues several dispatches for more).
 *
 * @module
 */
import type { BindingDef, KernelDef } from "../kernel.ts";
import { indent, unroll } from "./unroll.ts";

/**
 * Tile shapes of the GEMM variants: BM×BN outputs per workgroup, K-steps of BK, TM×TN outputs per
 * invocation, and `stages` workgroup copies of the A and B tiles (2: double-buffered, one barrier per K-step).
 * Which tile a product gets is the backend's plan (ops/matmul.ts, `gemmTile`, from the table of
 * ops/gemm_table.ts, which `bench/gpu_bench.ts --sweep` measures); a double-buffered tile whose workgroup
 * memory ({@linkcode gemmTileBytes}) exceeds the device's limit runs as its single-stage twin (`_db`
 * dropped). Each tile needs (BM·BK) and (BK·BN) to be multiples of 4× the invocations per workgroup,
 * (BM/TM)·(BN/TN), so that the vector loads divide evenly.
 */
export const GEMM_TILES = {
  large: { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, stages: 1 },
  small: { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4, stages: 1 },
  large_k8: { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, stages: 1 },
  tall: { bm: 256, bn: 128, bk: 16, tm: 16, tn: 8, stages: 1 },
  half_m: { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, stages: 1 },
  half_n: { bm: 128, bn: 64, bk: 16, tm: 8, tn: 8, stages: 1 },
  half_m_k8: { bm: 64, bn: 128, bk: 8, tm: 8, tn: 8, stages: 1 },
  half_n_k8: { bm: 128, bn: 64, bk: 8, tm: 8, tn: 8, stages: 1 },
  small_db: { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4, stages: 2 },
  large_db: { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8, stages: 2 },
  large_k8_db: { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8, stages: 2 },
  half_m_db: { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8, stages: 2 },
  half_n_db: { bm: 128, bn: 64, bk: 16, tm: 8, tn: 8, stages: 2 },
  half_m_k8_db: { bm: 64, bn: 128, bk: 8, tm: 8, tn: 8, stages: 2 },
  half_n_k8_db: { bm: 128, bn: 64, bk: 8, tm: 8, tn: 8, stages: 2 },
} as const;

/** A tile's name. */
export type GemmTileName = keyof typeof GEMM_TILES;

/** Bytes of one workgroup array of a tile (As: the A tiles, Bs: the B tiles, padded, × stages) in `elem`. */
export function gemmArrayBytes(tile: GemmTileName, array: "As" | "Bs", elem: "f32" | "f16"): number {
  const t = GEMM_TILES[tile];
  return t.stages * t.bk * ((array === "As" ? t.bm : t.bn) / 4 + 1) * (elem === "f16" ? 8 : 16);
}

/** Bytes of workgroup memory a tile's float32 variants declare (the A and B tiles). */
export function gemmTileBytes(tile: GemmTileName): number {
  return gemmArrayBytes(tile, "As", "f32") + gemmArrayBytes(tile, "Bs", "f32");
}

/** Which GEMM variant. */
export interface GemmVariant {
  transA: boolean;
  transB: boolean;
  tile: GemmTileName;
  /** storage of A (and of B unless `elemB` says otherwise) */
  elem: "f32" | "f16";
  /** storage of B (default: `elem`); "f16" with elem "f32" is the mixed variant of --fp16 */
  elemB?: "f32" | "f16";
  /**
   * A is read as vec4s along its stored rows (the caller guarantees the contiguous extent, m when A is
   * transposed and k otherwise, the leading dimension, the batch strides and the offset to be multiples of 4)
   */
  vecA?: boolean;
  /** the same for B (contiguous extent: k when B is transposed, n otherwise) */
  vecB?: boolean;
  /**
   * "f16" (`_m16`): the A and B tiles staged in float16 (float32 operands rounded on load) and each K tile's
   * products summed in float16, then added to the float32 running sums (the block summation below); the
   * --fp16 GEMMs' option `gemmHalfMath`. Default "f32": float32 products and sums.
   */
  math?: "f32" | "f16";
}

/** The element type a variant stages A in (workgroup memory, registers): its storage, or float16 math's. */
export function stagedA(v: GemmVariant): "f32" | "f16" {
  return v.math === "f16" ? "f16" : v.elem;
}

/** The same for B. */
export function stagedB(v: GemmVariant): "f32" | "f16" {
  return v.math === "f16" ? "f16" : v.elemB ?? v.elem;
}

const cache = new Map<string, KernelDef>();

/** A GEMM variant's name without the `matmul_` prefix: case, tile, storage, vector loads, math. */
export function gemmVariantName(v: GemmVariant): string {
  const elems = (v.elemB ?? v.elem) === v.elem ? v.elem : `${v.elem}_${v.elemB}`;
  const vec = v.vecA || v.vecB ? `_v${v.vecA ? 4 : 1}${v.vecB ? 4 : 1}` : "";
  const math = v.math === "f16" ? "_m16" : "";
  return `${v.transA ? "t" : "n"}${v.transB ? "t" : "n"}_${v.tile}_${elems}${vec}${math}`;
}

/** The kernel of one GEMM variant (memoised). */
export function gemmKernel(v: GemmVariant): KernelDef {
  const name = `matmul_${gemmVariantName(v)}`;
  let k = cache.get(name);
  if (!k) {
    k = buildGemm(name, v);
    cache.set(name, k);
  }
  return k;
}

/**
 * How one operand's tile is loaded: the (row, col) tile coordinate of load e (`coord`, WGSL expression of e),
 * the global element index of tile coordinate (x, y) after `base` (`index`), and the WGSL statements that
 * stage register `r` (scalar or vec4) at tile coordinate `c` into the workgroup array at offset `o`.
 */
interface OperandLoad {
  coord: string;
  index: string;
  stage: (r: string) => string;
}

/**
 * The A tile: coordinates (i, p) with i < BM, p < BK; As is k-major (As[p·AS + i/4][i%4]). Scalar loads
 * take consecutive elements along the stored row; vec4 loads four of them (i..i+3 when A is transposed,
 * p..p+3 otherwise, scattered into four k-rows of As).
 */
function aLoad(transA: boolean, vec: boolean): OperandLoad {
  const index = transA ? "base + p * P.lda + i" : "base + i * P.lda + p";
  if (!vec) {
    return {
      coord: transA ? "vec2<u32>(e % BM, e / BM)" : "vec2<u32>(e / BK, e % BK)",
      index,
      stage: (r) => `As[o + c.y * AS + c.x / 4u][c.x % 4u] = ${r};`,
    };
  }
  if (transA) {
    return {
      coord: "vec2<u32>((e % (BM / 4u)) * 4u, e / (BM / 4u))",
      index,
      stage: (r) => `As[o + c.y * AS + c.x / 4u] = ${r};`,
    };
  }
  return {
    coord: "vec2<u32>(e / (BK / 4u), (e % (BK / 4u)) * 4u)",
    index,
    stage: (r) =>
      unroll(4, (q) => `As[o + (c.y + ${q}u) * AS + c.x / 4u][c.x % 4u] = ${r}[${q}];`, "").replace(
        /\n/g,
        " ",
      ),
  };
}

/** The B tile: coordinates (p, j) with p < BK, j < BN; Bs[p·BS + j/4][j%4]. As `aLoad`. */
function bLoad(transB: boolean, vec: boolean): OperandLoad {
  const index = transB ? "base + j * P.ldb + p" : "base + p * P.ldb + j";
  if (!vec) {
    return {
      coord: transB ? "vec2<u32>(e % BK, e / BK)" : "vec2<u32>(e / BN, e % BN)",
      index,
      stage: (r) => `Bs[o + c.x * BS + c.y / 4u][c.y % 4u] = ${r};`,
    };
  }
  if (!transB) {
    return {
      coord: "vec2<u32>(e / (BN / 4u), (e % (BN / 4u)) * 4u)",
      index,
      stage: (r) => `Bs[o + c.x * BS + c.y / 4u] = ${r};`,
    };
  }
  return {
    coord: "vec2<u32>((e % (BK / 4u)) * 4u, e / (BK / 4u))",
    index,
    stage: (r) =>
      unroll(4, (q) => `Bs[o + (c.x + ${q}u) * BS + c.y / 4u][c.y % 4u] = ${r}[${q}];`, "").replace(
        /\n/g,
        " ",
      ),
  };
}

/**
 * The WGSL of one GEMM variant in parts: the tile's constants and workgroup arrays (`decls`), the load and
 * store functions (`fns`), and the statements that compute one workgroup's tile (`tile`; `wid`, `lid3` and
 * `lid` in scope). `bias: false` leaves the bias term out of the store (kernels/matmul_pair.ts).
 */
export function gemmWgsl(v: GemmVariant, bias = true): { decls: string; fns: string; tile: string } {
  const t = GEMM_TILES[v.tile];
  const T = v.elem, TB = v.elemB ?? v.elem;
  // staged (workgroup and register) types, and the type of the K tiles' products and sums
  const SA = stagedA(v), SB = stagedB(v), M = v.math ?? "f32";
  const va = v.vecA ?? false, vb = v.vecB ?? false;
  const wx = t.bn / t.tn, wy = t.bm / t.tm, wg = wx * wy;
  const rg = t.tm / 4, cg = t.tn / 4; // row and column groups of 4 per invocation
  // loads per invocation and K-step (tile elements, or vec4s of them)
  const la = (t.bm * t.bk) / wg / (va ? 4 : 1), lb = (t.bk * t.bn) / wg / (vb ? 4 : 1);
  const A = aLoad(v.transA, va), B = bLoad(v.transB, vb);
  const RA = va ? `vec4<${SA}>` : SA, RB = vb ? `vec4<${SB}>` : SB;
  // accumulator acc_{(g·4 + q)·CG + h}: row g·WY·4 + ty·4 + q, columns (h·WX + tx)·4 + 0..3
  const accs = rg * 4 * cg;
  const acc = (g: number, q: number, h: number) => `acc_${(g * 4 + q) * cg + h}`;
  // the next K tile's global loads into registers ra_*, rb_*
  const prefetch = (k: string) =>
    unroll(
      la,
      (r) =>
        `ra_${r} = a_load(a_base, m0 + a_coord(lid + ${r}u * WG).x, ${k} + a_coord(lid + ${r}u * WG).y);`,
    ) +
    "\n" +
    unroll(
      lb,
      (r) =>
        `rb_${r} = b_load(b_base, ${k} + b_coord(lid + ${r}u * WG).x, n0 + b_coord(lid + ${r}u * WG).y);`,
    );
  // the registers into workgroup stage `s` (a WGSL u32 expression)
  const stage = (s: string) =>
    `{\n  let o = (${s}) * (BK * AS);\n` +
    unroll(la, (r) => `{ let c = a_coord(lid + ${r}u * WG); ${A.stage(`ra_${r}`)} }`) +
    `\n}\n{\n  let o = (${s}) * (BK * BS);\n` +
    unroll(lb, (r) => `{ let c = b_coord(lid + ${r}u * WG); ${B.stage(`rb_${r}`)} }`) +
    "\n}";
  const fmas: string[] = [];
  for (let g = 0; g < rg; g++) {
    for (let q = 0; q < 4; q++) {
      for (let h = 0; h < cg; h++) {
        const part = acc(g, q, h).replace("acc_", "part_");
        fmas.push(`${part} = fma(vec4<${M}>(a_${g}[${q}]), b_${h}, ${part});`);
      }
    }
  }
  // one K tile's products from workgroup stage `s`, summed apart, then added to the running sums once (a
  // single float32 sum along all of K drifted from the float64 result by ~3x the original's error on large K)
  const multiply = (s: string) =>
    `{\n  let oa = (${s}) * (BK * AS);\n  let ob = (${s}) * (BK * BS);\n` +
    unroll(accs, (i) => `var part_${i} = vec4<${M}>(0.0);`) +
    "\n  for (var p = 0u; p < BK; p++) {\n" +
    unroll(rg, (g) => `let a_${g} = vec4<${M}>(As[oa + p * AS + ${g}u * WG_Y + ty]);`, "    ") +
    "\n" +
    unroll(cg, (h) => `let b_${h} = vec4<${M}>(Bs[ob + p * BS + ${h}u * WG_X + tx]);`, "    ") +
    "\n" +
    fmas.map((l) => "    " + l).join("\n") +
    "\n  }\n" +
    unroll(accs, (i) => (M === "f32" ? `acc_${i} += part_${i};` : `acc_${i} += vec4<f32>(part_${i});`)) +
    "\n}";
  const stores: string[] = [];
  for (let g = 0; g < rg; g++) {
    for (let q = 0; q < 4; q++) {
      const i = `m0 + ${g * wy * 4 + q}u + ty * 4u`;
      const row = Array.from(
        { length: cg },
        (_, h) => `store4(c_base + i * P.ldc, n0 + (${h}u * WG_X + tx) * 4u, ${acc(g, q, h)});`,
      );
      stores.push(`{ let i = ${i}; if (i < P.m) { ${row.join(" ")} } }`);
    }
  }
  // single stage: stage, barrier, prefetch the next tile, multiply, barrier. Two stages: the next tile is
  // loaded into registers while this one is multiplied and staged into the other copy, one barrier a K-step
  const loop = t.stages === 1
    ? `for (var k0 = 0u; k0 < P.k; k0 += BK) {
${indent(stage("0u"), "  ")}
  workgroupBarrier();
  let k1 = k0 + BK;
  if (k1 < P.k) {
${indent(prefetch("k1"), "    ")}
  }
${indent(multiply("0u"), "  ")}
  workgroupBarrier();
}`
    : `${stage("0u")}
workgroupBarrier();
var cur = 0u;
for (var k0 = 0u; k0 < P.k; k0 += BK) {
  let k1 = k0 + BK;
  if (k1 < P.k) {
${indent(prefetch("k1"), "    ")}
  }
${indent(multiply("cur"), "  ")}
  if (k1 < P.k) {
${indent(stage("1u - cur"), "    ")}
  }
  workgroupBarrier();
  cur = 1u - cur;
}`;
  // a load returns the staged type (R: the register's, vec4 or scalar), converting where storage differs
  const load = (op: "a" | "b", R: string, stored: string, staged: string, index: string, oob: string) => {
    const read = R.startsWith("vec4") ? `${op}[(${index}) / 4u]` : `${op}[${index}]`;
    return `fn ${op}_load(base: u32, ${op === "a" ? "i: u32, p: u32" : "p: u32, j: u32"}) -> ${R} {
  if (${oob}) { return ${R}(0); }
  return ${stored === staged ? read : `${R}(${read})`};
}`;
  };
  return {
    decls: /* wgsl */ `
const BM: u32 = ${t.bm}u;
const BN: u32 = ${t.bn}u;
const BK: u32 = ${t.bk}u;
const AS: u32 = BM / 4u + 1u;     // vec4s per k-row of As (one of padding)
const BS: u32 = BN / 4u + 1u;
// ${t.stages} stage(s): As[s·BK·AS + p·AS + i/4][i%4] = op(A)[m0 + i, k0 + p], likewise Bs = op(B)[k0 + p, n0 + j]
var<workgroup> As: array<vec4<${SA}>, ${t.stages}u * BK * AS>;
var<workgroup> Bs: array<vec4<${SB}>, ${t.stages}u * BK * BS>;
`,
    fns: /* wgsl */ `fn a_coord(e: u32) -> vec2<u32> { return ${A.coord}; }  // (i, p) of load e (${
      va ? "vec4 along the stored row" : "one element"
    })
fn b_coord(e: u32) -> vec2<u32> { return ${B.coord}; }  // (p, j) of load e
${load("a", RA, T, SA, A.index, "i >= P.m || p >= P.k")}
${load("b", RB, TB, SB, B.index, "p >= P.k || j >= P.n")}
// C[row, j0 + e] = alpha·v[e] + beta·C (+ bias) for the columns e < 4 inside n
fn store4(row: u32, j0: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    let j = j0 + e;
    if (j >= P.n) { return; }
    var r = P.alpha * v[e];
    if (P.beta != 0.0) { r += P.beta * c[row + j]; }
${bias ? "    if (P.has_bias != 0u) { r += bias[P.bias_off + j]; }\n" : ""}    c[row + j] = r;
  }
}
`,
    tile: /* wgsl */ `  // batch item z = (i0, i1, i2)
  let z = P.z_base + wid.z;
  let i2 = z % P.nb2;
  let i1 = (z / P.nb2) % P.nb1;
  let i0 = z / (P.nb2 * P.nb1);
  let a_base = P.a_off + i0 * P.sa0 + i1 * P.sa1 + i2 * P.sa2;
  let b_base = P.b_off + i0 * P.sb0 + i1 * P.sb1 + i2 * P.sb2;
  let c_base = P.c_off + i0 * P.sc0 + i1 * P.sc1 + i2 * P.sc2;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let tx = lid3.x;
  let ty = lid3.y;

  // ${accs} vec4 accumulators (${t.tm}×${t.tn} outputs) and the staging registers, unrolled by the generator
${unroll(accs, (i) => `var acc_${i} = vec4<f32>(0.0);`)}
${unroll(la, (r) => `var ra_${r}: ${RA};`)}
${unroll(lb, (r) => `var rb_${r}: ${RB};`)}
${prefetch("0u")}

${indent(loop, "  ")}

  // C = alpha·acc + beta·C (+ bias)
${stores.map((l) => "  " + l).join("\n")}`,
  };
}

/** The uniforms of a GEMM variant, in order. */
export const GEMM_UNIFORMS = {
  m: "u32",
  n: "u32",
  k: "u32",
  lda: "u32",
  ldb: "u32",
  ldc: "u32",
  alpha: "f32",
  beta: "f32",
  has_bias: "u32",
  z_base: "u32",
  nb1: "u32",
  nb2: "u32",
  sa0: "u32",
  sa1: "u32",
  sa2: "u32",
  sb0: "u32",
  sb1: "u32",
  sb2: "u32",
  sc0: "u32",
  sc1: "u32",
  sc2: "u32",
} as const satisfies KernelDef["uniforms"];

/** The A, B and C bindings of a GEMM variant (names suffixed by `s`, kernels/matmul_pair.ts). */
export function gemmBindings(v: GemmVariant, s = ""): BindingDef[] {
  return [
    {
      name: `a${s}`,
      access: "read",
      type: v.elem,
      shape: v.transA ? "[batch…, k, lda]" : "[batch…, m, lda]",
      ...(v.vecA ? { vec4: true } : {}),
    },
    {
      name: `b${s}`,
      access: "read",
      type: v.elemB ?? v.elem,
      shape: v.transB ? "[batch…, n, ldb]" : "[batch…, k, ldb]",
      ...(v.vecB ? { vec4: true } : {}),
    },
    { name: `c${s}`, access: "read_write", type: "f32", shape: "[batch…, m, ldc]" },
  ];
}

function buildGemm(name: string, v: GemmVariant): KernelDef {
  const t = GEMM_TILES[v.tile];
  const { decls, fns, tile } = gemmWgsl(v);
  return {
    name,
    workgroupSize: [t.bn / t.tn, t.bm / t.tm],
    f16: v.elem === "f16" || v.elemB === "f16" || v.math === "f16",
    bindings: [
      ...gemmBindings(v),
      { name: "bias", access: "read", type: "f32", shape: "[n] (a placeholder without bias)" },
    ],
    uniforms: GEMM_UNIFORMS,
    body: `${decls}
${fns}
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
${tile}
}`,
  };
}
