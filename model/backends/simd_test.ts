import assert from "node:assert/strict";
import wabtInit from "wabt";
import { assertClose, Rng } from "@vlp/testing";
import { SIMD_CHUNK, SimdKernels } from "./simd.ts";
import { SIMD_KERNELS_WAT } from "./simd_kernels.wat.ts";
import { SIMD_KERNELS_WASM_BASE64 } from "./simd_kernels.wasm.ts";
import { geluForward, geluForwardWithGrad } from "../kernels/activations.ts";
import { softmaxForward } from "../kernels/softmax.ts";
import { dropoutForward } from "../kernels/dropout.ts";

const k = SimdKernels.create();

Deno.test("the embedded SIMD binary is the compiled WAT (regenerate with tools/build_simd_kernels.ts)", async () => {
  const wabt = await wabtInit();
  const bytes = wabt.parseWat("simd_kernels.wat", SIMD_KERNELS_WAT, { simd: true }).toBinary({}).buffer;
  const embedded = Uint8Array.from(atob(SIMD_KERNELS_WASM_BASE64), (c) => c.charCodeAt(0));
  assert.deepEqual(embedded, bytes);
  assert.ok(k, "WebAssembly SIMD is available in Deno");
});

Deno.test("SIMD GELU (with and without derivative) matches the TypeScript kernel over several chunks", () => {
  const rng = new Rng(51);
  const n = SIMD_CHUNK * 2 + 7;
  const x = rng.fillNormal(new Float32Array(n), 0, 4);
  x[0] = 0;
  x[1] = -40;
  x[2] = 40;
  const ref = new Float32Array(n), refG = new Float32Array(n);
  geluForwardWithGrad(Float64Array.from(x), ref, refG);
  const y = new Float32Array(n), y2 = new Float32Array(n), g = new Float32Array(n);
  k!.gelu(x, y, null);
  k!.gelu(x, y2, g);
  assertClose(y, ref, { atol: 1e-6, rtol: 1e-6, name: "gelu" });
  assertClose(y2, ref, { atol: 1e-6, rtol: 1e-6, name: "gelu (with grad)" });
  assertClose(g, refG, { atol: 1e-6, rtol: 1e-6, name: "gelu'" });
  const ts = new Float32Array(n);
  geluForward(x, ts);
  assertClose(y, ts, { atol: 1e-6, rtol: 1e-6, name: "gelu vs float32 TS path" });
});

Deno.test("SIMD softmax matches the TypeScript kernel for odd row widths, masks and many rows", () => {
  const rng = new Rng(52);
  for (const [S, NH, lq, lk] of [[2, 3, 5, 7], [2, 12, 123, 123], [3, 2, 2, 105], [1, 1, 1, 3]]) {
    const x = rng.fillNormal(new Float32Array(S * NH * lq * lk), 0, 3);
    const mask = Float32Array.from({ length: S * lq * lk }, () => (rng.float() < 0.3 ? -10000 : 0));
    const p = new Float32Array(x.length), ref = new Float64Array(x.length);
    k!.softmax(x, mask, p, NH, lq, lk);
    softmaxForward(Float64Array.from(x), Float64Array.from(mask), ref, NH, lq, lk);
    assertClose(p, ref, { atol: 1e-7, rtol: 1e-5, name: `softmax [${S},${NH},${lq},${lk}]` });
  }
});

Deno.test("SIMD dropout keeps exactly the elements the TypeScript kernel keeps", () => {
  const rng = new Rng(53);
  const n = SIMD_CHUNK + 13;
  const x = rng.fillNormal(new Float32Array(n));
  for (const [p, seed] of [[0.1, 7], [0.5, 0xfffffff0], [0, 3]]) {
    const y = new Float32Array(n), ref = new Float32Array(n);
    k!.dropout(x, y, p, seed);
    dropoutForward(x, ref, p, seed);
    for (let i = 0; i < n; i++) assert.equal(y[i] === 0, ref[i] === 0, `element ${i} (p ${p})`);
    assertClose(y, ref, { atol: 0, rtol: 1e-6, name: `dropout p=${p}` });
  }
});
