/**
 * matmul_*_relu: the GEMM of kernels/matmul.ts with a bias + ReLU epilogue (the region branches' Linears),
 * one batch item, beta = 0:
 *
 *   C = relu(alpha · A·op(B) + bias)
 *
 * the pre-activation never written. Built like matmul_*_gelu (`withGemmStore`: only the store function is
 * replaced); the ReLU is relu.ts's `select(0, v, v > 0)`, so the result equals matmul then relu bit for bit
 * (fused_test.ts).
 *
 * @module
 */
import type { KernelDef } from "../kernel.ts";
import { gemmKernel, type GemmVariant } from "./matmul.ts";
import { withGemmStore } from "./matmul_gelu.ts";

const RELU_STORE = /* wgsl */ `fn store4(row: u32, j0: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    let j = j0 + e;
    if (j >= P.n) { return; }
    var r = P.alpha * v[e];
    if (P.has_bias != 0u) { r += bias[P.bias_off + j]; }
    c[row + j] = select(0.0, r, r > 0.0);
  }
}`;

/** The bias + ReLU variant of one GEMM variant (memoised). */
export function gemmReluKernel(v: GemmVariant): KernelDef {
  return withGemmStore(gemmKernel(v), "relu", RELU_STORE, { bindings: [], uniforms: {} });
}
