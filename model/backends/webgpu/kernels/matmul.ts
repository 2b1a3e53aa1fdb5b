/**
 * matmul: batched tiled GEMM, row-major with cblas semantics (see `MatmulArgs` in backend.ts), per batch
 * item z = (i0, i1, i2):
 *
 *   C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C (+ bias[n] on every row)
 *
 * One workgroup computes a BM×BN tile of C; each of its (BN/TN)×(BM/TM) invocations a TM×TN block held in
 * registers as vec4 rows. K advances in steps of BK, each K tile's products summed into fresh registers and
 * then added to the running sums (block summation: float32 error ~(BK + K/BK)·ε rather than K·ε): the A and B tiles are staged in workgroup memory
 * (k-major, padded by one vec4 per k-row against bank conflicts), and the next tile's global loads are
 * issued into registers before the current tile is multiplied (software prefetch). Global loads are
 * coalesced along the stored rows for every transpose case; they are scalar and bounds-checked, so any
 * m, n, k, leading dimension and element offset works (views into [L, 3C] rows included).
 *
 * An invocation's rows are ty·4 + {0..3} (+ g·WY·4 for its g-th row group) and its columns tx·4 + {0..3}
 * (+ h·WX·4), so that neighbouring invocations read neighbouring vec4s of the tiles.
 *
 * Variants (one pipeline each): transA × transB × tile (one of `GEMM_TILES`; which one the backend picks
 * is its plan, ops/matmul.ts) × storage ("f32", "f16" for A and B, or "f32_f16": float16 B only, the
 * weights of --fp16; products and accumulation in float32; C and bias stay float32).
 *
 * Grid: x = ⌈n/BN⌉, y = ⌈m/BM⌉, z = batch items from `z_base` (≤ 65,535 per dispatch; the backend
 * issues several dispatches for more).
 *
 * @module
 */
import type { KernelDef } from "../kernel.ts";

/**
 * Tile shapes of the GEMM variants: BM×BN outputs per workgroup, K-steps of BK, TM×TN outputs per
 * invocation. The backend's plan (ops/matmul.ts, `gemmTile`) uses `small` for products under 128×128; for
 * larger ones `half_n` when A is transposed (weight gradients: k = B·L long) and `large_k8` otherwise, the
 * fastest of these candidates on an NVIDIA H200 (`bench/gpu_bench.ts --sweep`; README); the others are
 * sweep candidates, and the backend option `gemmLargeTile` forces one for every large product. Each tile
 * needs (BM·BK) and (BK·BN) to be multiples of the invocations per workgroup, (BM/TM)·(BN/TN).
 */
export const GEMM_TILES = {
  large: { bm: 128, bn: 128, bk: 16, tm: 8, tn: 8 },
  small: { bm: 64, bn: 64, bk: 16, tm: 4, tn: 4 },
  large_k8: { bm: 128, bn: 128, bk: 8, tm: 8, tn: 8 },
  tall: { bm: 256, bn: 128, bk: 16, tm: 16, tn: 8 },
  half_m: { bm: 64, bn: 128, bk: 16, tm: 8, tn: 8 },
  half_n: { bm: 128, bn: 64, bk: 16, tm: 8, tn: 8 },
  half_m_k8: { bm: 64, bn: 128, bk: 8, tm: 8, tn: 8 },
  half_n_k8: { bm: 128, bn: 64, bk: 8, tm: 8, tn: 8 },
} as const;

/** Which GEMM variant. */
export interface GemmVariant {
  transA: boolean;
  transB: boolean;
  tile: keyof typeof GEMM_TILES;
  /** storage of A (and of B unless `elemB` says otherwise) */
  elem: "f32" | "f16";
  /** storage of B (default: `elem`); "f16" with elem "f32" is the mixed variant of --fp16 */
  elemB?: "f32" | "f16";
}

const cache = new Map<string, KernelDef>();

/** The kernel of one GEMM variant (memoised). */
export function gemmKernel(v: GemmVariant): KernelDef {
  const elems = (v.elemB ?? v.elem) === v.elem ? v.elem : `${v.elem}_${v.elemB}`;
  const name = `matmul_${v.transA ? "t" : "n"}${v.transB ? "t" : "n"}_${v.tile}_${elems}`;
  let k = cache.get(name);
  if (!k) {
    k = buildGemm(name, v);
    cache.set(name, k);
  }
  return k;
}

/** `n` lines produced by `f(i)`, joined (the generator's loop unrolling). */
function unroll(n: number, f: (i: number) => string, indent = "  "): string {
  return Array.from({ length: n }, (_, i) => indent + f(i)).join("\n");
}

function buildGemm(name: string, v: GemmVariant): KernelDef {
  const t = GEMM_TILES[v.tile];
  const T = v.elem, TB = v.elemB ?? v.elem;
  const wx = t.bn / t.tn, wy = t.bm / t.tm, wg = wx * wy;
  const rg = t.tm / 4, cg = t.tn / 4; // row and column groups of 4 per invocation
  const la = (t.bm * t.bk) / wg, lb = (t.bk * t.bn) / wg; // tile elements staged per invocation
  // (i, p) of element e of the A tile, and where it is in A; (p, j) of element e of the B tile
  const aCoord = v.transA ? "vec2<u32>(e % BM, e / BM)" : "vec2<u32>(e / BK, e % BK)";
  const aIndex = v.transA ? "base + p * P.lda + i" : "base + i * P.lda + p";
  const bCoord = v.transB ? "vec2<u32>(e % BK, e / BK)" : "vec2<u32>(e / BN, e % BN)";
  const bIndex = v.transB ? "base + j * P.ldb + p" : "base + p * P.ldb + j";
  // accumulator acc_{(g·4 + q)·CG + h}: row g·WY·4 + ty·4 + q, columns (h·WX + tx)·4 + 0..3
  const accs = rg * 4 * cg;
  const acc = (g: number, q: number, h: number) => `acc_${(g * 4 + q) * cg + h}`;
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
  const fmas: string[] = [];
  for (let g = 0; g < rg; g++) {
    for (let q = 0; q < 4; q++) {
      for (let h = 0; h < cg; h++) {
        const part = acc(g, q, h).replace("acc_", "part_");
        fmas.push(`${part} = fma(vec4<f32>(a_${g}[${q}]), b_${h}, ${part});`);
      }
    }
  }
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
  return {
    name,
    workgroupSize: [wx, wy],
    f16: T === "f16" || TB === "f16",
    bindings: [
      { name: "a", access: "read", type: T, shape: v.transA ? "[batch…, k, lda]" : "[batch…, m, lda]" },
      { name: "b", access: "read", type: TB, shape: v.transB ? "[batch…, n, ldb]" : "[batch…, k, ldb]" },
      { name: "c", access: "read_write", type: "f32", shape: "[batch…, m, ldc]" },
      { name: "bias", access: "read", type: "f32", shape: "[n] (a placeholder without bias)" },
    ],
    uniforms: {
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
    },
    body: /* wgsl */ `
const BM: u32 = ${t.bm}u;
const BN: u32 = ${t.bn}u;
const BK: u32 = ${t.bk}u;
const AS: u32 = BM / 4u + 1u;     // vec4s per k-row of As (one of padding)
const BS: u32 = BN / 4u + 1u;
var<workgroup> As: array<vec4<${T}>, BK * AS>;  // As[p][i] = op(A)[m0 + i, k0 + p]
var<workgroup> Bs: array<vec4<${TB}>, BK * BS>;  // Bs[p][j] = op(B)[k0 + p, n0 + j]

fn a_coord(e: u32) -> vec2<u32> { return ${aCoord}; }  // (i, p) of tile element e
fn b_coord(e: u32) -> vec2<u32> { return ${bCoord}; }  // (p, j) of tile element e
fn a_load(base: u32, i: u32, p: u32) -> ${T} {
  if (i >= P.m || p >= P.k) { return ${T}(0); }
  return a[${aIndex}];
}
fn b_load(base: u32, p: u32, j: u32) -> ${TB} {
  if (p >= P.k || j >= P.n) { return ${TB}(0); }
  return b[${bIndex}];
}
// C[row, j0 + e] = alpha·v[e] + beta·C (+ bias) for the columns e < 4 inside n
fn store4(row: u32, j0: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    let j = j0 + e;
    if (j >= P.n) { return; }
    var r = P.alpha * v[e];
    if (P.beta != 0.0) { r += P.beta * c[row + j]; }
    if (P.has_bias != 0u) { r += bias[P.bias_off + j]; }
    c[row + j] = r;
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // batch item z = (i0, i1, i2)
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
${unroll(la, (r) => `var ra_${r}: ${T};`)}
${unroll(lb, (r) => `var rb_${r}: ${TB};`)}
${prefetch("0u")}

  for (var k0 = 0u; k0 < P.k; k0 += BK) {
    // stage the prefetched tiles
${
      unroll(la, (r) =>
        `{ let c = a_coord(lid + ${r}u * WG); As[c.y * AS + c.x / 4u][c.x % 4u] = ra_${r}; }`, "    ")
    }
${
      unroll(lb, (r) =>
        `{ let c = b_coord(lid + ${r}u * WG); Bs[c.x * BS + c.y / 4u][c.y % 4u] = rb_${r}; }`, "    ")
    }
    workgroupBarrier();
    // prefetch the next tiles into registers while this one is multiplied
    let k1 = k0 + BK;
    if (k1 < P.k) {
${prefetch("k1").split("\n").map((l) => "    " + l).join("\n")}
    }
    // this K tile's products summed apart, then added to the running sums once (a single float32 sum
    // along all of K drifted from the float64 result by ~3x the original's error on large K)
${unroll(accs, (i) => `var part_${i} = vec4<f32>(0.0);`, "    ")}
    for (var p = 0u; p < BK; p++) {
${unroll(rg, (g) => `let a_${g} = vec4<f32>(As[p * AS + ${g}u * WG_Y + ty]);`, "      ")}
${unroll(cg, (h) => `let b_${h} = vec4<f32>(Bs[p * BS + ${h}u * WG_X + tx]);`, "      ")}
${fmas.map((l) => "      " + l).join("\n")}
    }
${unroll(accs, (i) => `acc_${i} += part_${i};`, "    ")}
    workgroupBarrier();
  }

  // C = alpha·acc + beta·C (+ bias)
${stores.map((l) => "  " + l).join("\n")}
}`,
  };
}
