/**
 * matmul_*_gelu: the GEMM of kernels/matmul.ts with a bias + GELU epilogue (the FFN-in Linear of a
 * training forward), one batch item, beta = 0:
 *
 *   pre = alpha · A·op(B) + bias ;  C = gelu(pre) ;  grad = gelu'(pre)  (grad: when `has_grad`)
 *
 * pre itself is never written. The `_gelu_h` variant stores C in float16 (`f16(gelu)`: the FFN activation of
 * --fp16, which the FFN-out GEMMs read as float16); grad stays float32. The products, the K loop and the tiles are those of `gemmKernel` (this
 * file takes its kernel and replaces only the store function, so every GEMM variant has a GELU twin); the
 * epilogue computes pre in the order of the plain GEMM's store and then `gelu_f32_with_grad`, the function
 * of gelu_with_grad, so the result equals matmul then gelu (with grad) bit for bit (fused_test.ts). grad
 * has C's layout (`ldc`).
 *
 * @module
 */
import type { KernelDef } from "../kernel.ts";
import { gemmKernel, type GemmVariant } from "./matmul.ts";

const STORE_START = "fn store4(row: u32, j0: u32, v: vec4<f32>) {";

const GELU_STORE = /* wgsl */ `fn store4(row: u32, j0: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    let j = j0 + e;
    if (j >= P.n) { return; }
    var r = P.alpha * v[e];
    if (P.has_bias != 0u) { r += bias[P.bias_off + j]; }
    let g = gelu_f32_with_grad(r);
    c[row + j] = g.x;
    if (P.has_grad != 0u) { grad[P.grad_off + row - P.c_off + j] = g.y; }
  }
}`;

/** The same store into a float16 C. */
const GELU_STORE_F16 = GELU_STORE.replace("c[row + j] = g.x;", "c[row + j] = f16(g.x);");

const cache = new Map<string, KernelDef>();

/**
 * `base` (a `gemmKernel`) with its store function replaced by `store` (same signature), named
 * `${base.name}_${suffix}`, with the extra bindings, uniforms and helpers (memoised by name).
 */
export function withGemmStore(
  base: KernelDef,
  suffix: string,
  store: string,
  extra: Pick<KernelDef, "bindings" | "uniforms" | "helpers"> & { cElem?: "f16" },
): KernelDef {
  const name = `${base.name}_${suffix}`;
  let k = cache.get(name);
  if (!k) {
    const start = base.body.indexOf(STORE_START);
    const end = start < 0 ? -1 : base.body.indexOf("\n}\n", start);
    if (end < 0) throw new Error(`withGemmStore: no store4 function in ${base.name}`);
    // C in float16 (written only: the epilogues have beta = 0)
    const own = extra.cElem
      ? base.bindings.map((b) => (b.name === "c" ? { ...b, type: extra.cElem! } : b))
      : base.bindings;
    k = {
      ...base,
      name,
      f16: base.f16 || extra.cElem === "f16",
      bindings: [...own, ...extra.bindings],
      uniforms: { ...base.uniforms, ...extra.uniforms },
      helpers: [...(base.helpers ?? []), ...(extra.helpers ?? [])],
      body: base.body.slice(0, start) + store + base.body.slice(end + 2),
    };
    cache.set(name, k);
  }
  return k;
}

/** The bias + GELU variant of one GEMM variant (memoised); `outF16`: C in float16 (`_gelu_h`). */
export function gemmGeluKernel(v: GemmVariant, outF16 = false): KernelDef {
  return withGemmStore(gemmKernel(v), outF16 ? "gelu_h" : "gelu", outF16 ? GELU_STORE_F16 : GELU_STORE, {
    ...(outF16 ? { cElem: "f16" as const } : {}),
    bindings: [{
      name: "grad",
      access: "read_write",
      type: "f32",
      shape: "[m, ldc] (a placeholder without grad)",
    }],
    uniforms: { has_grad: "u32" },
    helpers: ["erf"],
  });
}
