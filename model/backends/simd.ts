/**
 * The WebAssembly SIMD kernels (`simd_kernels.wat.ts`) behind a typed-array API: inputs are copied into the
 * module's memory in chunks of {@linkcode SIMD_CHUNK} elements, the kernel runs, outputs are copied back.
 * Used by the blas backend for GELU, softmax and dropout on float32 tensors (3–4× faster than the plain
 * TypeScript loops, which stay the reference).
 *
 * @example Usage
 * ```ts
 * import { SimdKernels } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const k = SimdKernels.create()!;
 * const x = Float32Array.of(-1, 0, 1, 2, 3), y = new Float32Array(5);
 * k.gelu(x, y, null);
 * assert.ok(Math.abs(y[2] - 0.8413447) < 1e-6);
 * ```
 *
 * @module
 */
import { SIMD_KERNELS_WASM_BASE64 } from "./simd_kernels.wasm.ts";
import { dropoutThreshold } from "../kernels/dropout.ts";

/** Elements per chunk copied through the module's memory. */
export const SIMD_CHUNK = 1 << 16;

interface Exports {
  gelu(x: number, y: number, g: number, n: number): void;
  softmax(
    x: number,
    mask: number,
    p: number,
    rows: number,
    lk: number,
    lq: number,
    heads: number,
    row0: number,
  ): void;
  dropout(x: number, y: number, n: number, i0: number, seed: number, thr: number, scale: number): void;
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** SIMD GELU, softmax and dropout on float32 arrays. */
export class SimdKernels {
  readonly #mem: WebAssembly.Memory;
  readonly #k: Exports;
  #f32: Float32Array;

  private constructor(mem: WebAssembly.Memory, k: Exports) {
    this.#mem = mem;
    this.#k = k;
    this.#f32 = new Float32Array(mem.buffer);
  }

  /** The kernels, or null where WebAssembly SIMD is not available. */
  static create(): SimdKernels | null {
    try {
      const mem = new WebAssembly.Memory({ initial: 64 });
      const inst = new WebAssembly.Instance(
        new WebAssembly.Module(decodeBase64(SIMD_KERNELS_WASM_BASE64)),
        { env: { mem } },
      );
      return new SimdKernels(mem, inst.exports as unknown as Exports);
    } catch {
      return null;
    }
  }

  /** Make the memory hold at least `floats` float32 values; returns the float view. */
  #reserve(floats: number): Float32Array {
    const need = floats * 4 - this.#mem.buffer.byteLength;
    if (need > 0) this.#mem.grow(Math.ceil(need / 65536));
    if (this.#f32.buffer !== this.#mem.buffer) this.#f32 = new Float32Array(this.#mem.buffer);
    return this.#f32;
  }

  /** y = gelu(x) and, when g is given, g = gelu'(x) (same lengths). */
  gelu(x: Float32Array, y: Float32Array, g: Float32Array | null): void {
    const C = SIMD_CHUNK, X = 0, Y = C + 4, G = 2 * (C + 4);
    const m = this.#reserve(3 * (C + 4));
    for (let o = 0; o < x.length; o += C) {
      const n = Math.min(C, x.length - o);
      m.set(x.subarray(o, o + n), X);
      this.#k.gelu(X * 4, Y * 4, g ? G * 4 : 0, n);
      y.set(m.subarray(Y, Y + n), o);
      if (g) g.set(m.subarray(G, G + n), o);
    }
  }

  /** p = softmax(x + mask) over rows of lk; x [S, heads, lq, lk], mask [S, lq, lk]. */
  softmax(x: Float32Array, mask: Float32Array, p: Float32Array, heads: number, lq: number, lk: number): void {
    const rows = x.length / lk, chunkRows = Math.max(1, Math.floor(SIMD_CHUNK / lk));
    const M = 0, X = mask.length + 4, P = X + chunkRows * lk + 4;
    const m = this.#reserve(P + chunkRows * lk + 4);
    m.set(mask, M);
    for (let r0 = 0; r0 < rows; r0 += chunkRows) {
      const nr = Math.min(chunkRows, rows - r0);
      m.set(x.subarray(r0 * lk, (r0 + nr) * lk), X);
      this.#k.softmax(X * 4, M * 4, P * 4, nr, lk, lq, heads, r0);
      p.set(m.subarray(P, P + nr * lk), r0 * lk);
    }
  }

  /** y = x · keep/(1 − p) with the counter-based mask of kernels/dropout.ts (element index = position in x). */
  dropout(x: Float32Array, y: Float32Array, p: number, seed: number): void {
    const thr = dropoutThreshold(p), scale = 1 / (1 - p);
    const C = SIMD_CHUNK, X = 0, Y = C + 4;
    const m = this.#reserve(2 * (C + 4));
    for (let o = 0; o < x.length; o += C) {
      const n = Math.min(C, x.length - o);
      m.set(x.subarray(o, o + n), X);
      this.#k.dropout(X * 4, Y * 4, n, o, seed | 0, thr | 0, scale);
      y.set(m.subarray(Y, Y + n), o);
    }
  }
}
