import assert from "node:assert/strict";
import { assertClose } from "@vlp/testing";
import { Rng } from "../../rng.ts";
import { ReferenceBackend } from "../reference.ts";
import { gpuTest, kernelsDispatched, openGpu } from "./test_utils.ts";
import { ffnForward } from "../../layers.ts";
import type { LayerTensors } from "../../params.ts";

// The operations of --fp16 (ops/half.ts, the mixed GEMM variant) against their host twins.

const f16 = (v: number) => new Float16Array([v])[0];

gpuTest(
  "webgpu matmul: float32 A times float16 B (the --fp16 weights) equals the float32 product of the rounded B",
  async (gpu) => {
    if (!gpu.hasF16) return;
    const rng = new Rng(21);
    const ref = new ReferenceBackend();
    // every transpose on the small tile; on the large one the two the model runs (forward NT, input gradient NN)
    const cases = [[false, false], [false, true], [true, false], [true, true]].map((t) => [37, 70, 45, ...t]);
    cases.push([130, 140, 33, false, true], [130, 140, 33, false, false]);
    for (const [m, n, k, transA, transB] of cases as [number, number, number, boolean, boolean][]) {
      {
        const a = rng.fillNormal(new Float32Array(m * k));
        const b = Float32Array.from(rng.fillNormal(new Float32Array(n * k)), f16);
        const bias = rng.fillNormal(new Float32Array(n));
        const c0 = rng.fillNormal(new Float32Array(m * n));
        const run = async (be: typeof gpu | ReferenceBackend, half: boolean) => {
          const ta = be.alloc([a.length]), tc = be.alloc([m * n]);
          const tb = half ? gpu.allocF16([b.length]) : be.alloc([b.length]);
          be.write(ta, a);
          be.write(tb, b);
          be.write(tc, c0);
          be.matmul({ a: ta, b: tb, c: tc, m, n, k, transA, transB, alpha: 0.5, beta: 0.25 });
          const tc2 = be.alloc([m * n]), tbias = be.alloc([n]);
          be.write(tbias, bias);
          be.matmul({ a: ta, b: tb, c: tc2, m, n, k, transA, transB, bias: tbias });
          return [await be.read(tc), await be.read(tc2)];
        };
        const want = await run(ref, false), got = await run(gpu, true);
        const name = `${m}×${n}×${k} tA=${transA} tB=${transB}`;
        assertClose(got[0], want[0], { atol: 2e-4, rtol: 1e-4, name: `${name} alpha/beta` });
        assertClose(got[1], want[1], { atol: 2e-4, rtol: 1e-4, name: `${name} bias` });
      }
    }
    assert.ok(Object.keys(gpu.rt.counter.snapshot().kernels).some((k) => k.endsWith("_f32_f16")));
    assert.throws(
      () => gpu.matmul({ a: gpu.allocF16([4]), b: gpu.alloc([4]), c: gpu.alloc([4]), m: 2, n: 2, k: 2 }),
      /a is f16, b is f32/,
    );
  },
);

gpuTest("webgpu castToF16 rounds like Float16Array and saturates at ±65504", async (gpu) => {
  if (!gpu.hasF16) return;
  const rng = new Rng(22);
  const x = rng.fillNormal(new Float32Array(1001));
  x.set([1e5, -1e6, 65504, 6.1e-5, 1e-8, 0.1, -0.0], 0);
  const src = gpu.alloc([x.length]), dst = gpu.allocF16([x.length]);
  gpu.write(src, x);
  gpu.castToF16(src, dst);
  const got = await gpu.read(dst);
  const want = Float32Array.from(x, (v) => f16(Math.max(-65504, Math.min(65504, v))));
  assert.deepEqual(Array.from(got), Array.from(want));
  assert.throws(() => gpu.castToF16(dst, src), TypeError);
});

gpuTest("webgpu countNonFinite counts Inf and NaN (also across binding-limit ranges)", async () => {
  const small = await openGpu({ maxBindingBytes: 4096 }); // 1024 floats per range
  try {
    const x = new Float32Array(5000).fill(1.5);
    const bad = [0, 17, 1023, 1024, 3000, 4999];
    bad.forEach((i, j) => (x[i] = [Infinity, -Infinity, NaN][j % 3]));
    x[2000] = 3.4e38; // large but finite
    const t = small.alloc([x.length]), out = small.alloc([1]);
    small.write(t, x);
    small.countNonFinite(t, out);
    assert.equal((await small.read(out))[0], bad.length);
    small.write(t, new Float32Array(5000).fill(-2));
    small.countNonFinite(t, out);
    assert.equal((await small.read(out))[0], 0);
  } finally {
    small.destroy();
  }
});

gpuTest("webgpu scaleInPlace multiplies every element (exactly, for a power of two)", async (gpu) => {
  const x = new Rng(23).fillNormal(new Float32Array(777));
  const t = gpu.alloc([x.length]);
  gpu.write(t, x);
  gpu.scaleInPlace(t, 2 ** -16);
  assert.deepEqual(Array.from(await gpu.read(t)), Array.from(x, (v) => Math.fround(v * 2 ** -16)));
});

gpuTest(
  "webgpu --fp16 activations: the GELU epilogue stores float16, read back as float16 A (vec4) and as B of dW",
  async (gpu) => {
    if (!gpu.hasF16) return;
    const rng = new Rng(22);
    const ref = new ReferenceBackend();
    // aligned (vec4 loads) and odd (scalar loads) shapes: x [m, k] · Wᵀ [n, k] + bias, then act [m, n] · W2ᵀ
    for (const [m, n, k] of [[132, 136, 44], [37, 70, 45]]) {
      const x = rng.fillNormal(new Float32Array(m * k));
      const w = Float32Array.from(rng.fillNormal(new Float32Array(n * k)), f16);
      const bias = rng.fillNormal(new Float32Array(n));
      const w2 = Float32Array.from(rng.fillNormal(new Float32Array(k * n)), f16);
      const dy = rng.fillNormal(new Float32Array(m * k));
      // reference: act = f16(gelu(x·Wᵀ + b)); y = act·W2ᵀ; dW2 = dyᵀ·act, in float32 on the rounded values
      const rx = ref.alloc([m * k]), rw = ref.alloc([n * k]), rb = ref.alloc([n]), rpre = ref.alloc([m * n]);
      const ract = ref.alloc([m * n]), rw2 = ref.alloc([k * n]), ry = ref.alloc([m * k]);
      const rdy = ref.alloc([m * k]), rdw = ref.alloc([k * n]);
      [[rx, x], [rw, w], [rb, bias], [rw2, w2], [rdy, dy]].forEach(([t, v]) =>
        ref.write(t as never, v as never)
      );
      ref.matmul({ a: rx, b: rw, c: rpre, m, n, k, transB: true, bias: rb });
      ref.gelu({ x: rpre, out: ract });
      const act = Float32Array.from(await ref.read(ract), f16);
      ref.write(ract, act);
      ref.matmul({ a: ract, b: rw2, c: ry, m, n: k, k: n, transB: true });
      ref.matmul({ a: rdy, b: ract, c: rdw, m: k, n, k: m, transA: true });

      const gx = gpu.alloc([m * k]),
        gw = gpu.allocF16([n, k]),
        gb = gpu.alloc([n]),
        gpre = gpu.alloc([m * n]);
      const gact = gpu.allocF16([m * n]), gw2 = gpu.allocF16([k * n]), gy = gpu.alloc([m * k]);
      const gdy = gpu.alloc([m * k]), gdw = gpu.alloc([k * n]);
      [[gx, x], [gw, w], [gb, bias], [gw2, w2], [gdy, dy]].forEach(([t, v]) =>
        gpu.write(t as never, v as never)
      );
      const ran = Object.keys(
        await kernelsDispatched(gpu, () => {
          assert.ok(gpu.fused!.linearGelu({ x: gx, w: gw, bias: gb, pre: gpre, out: gact }));
          gpu.matmul({ a: gact, b: gw2, c: gy, m, n: k, k: n, transB: true });
          gpu.matmul({ a: gdy, b: gact, c: gdw, m: k, n, k: m, transA: true });
        }),
      );
      const name = `${m}×${n}×${k}`;
      const v = m % 4 === 0 && n % 4 === 0 && k % 4 === 0 ? "_v44" : "";
      assert.ok(ran.some((r) => r.endsWith(`_f32_f16${v}_gelu_h`)), `${name}: ${ran}`);
      assert.ok(ran.some((r) => r.startsWith("matmul_nt_") && r.endsWith(`_f16${v}`)), `${name}: ${ran}`);
      assert.ok(ran.some((r) => r.startsWith("matmul_tn_") && r.endsWith(`_f32_f16${v}`)), `${name}: ${ran}`);
      // the stored activation: the reference's rounded to float16, but for 1-ulp rounding flips
      assertClose(await gpu.read(gact), act, { atol: 1e-3, rtol: 1e-3, name: `${name} act` });
      assertClose(await gpu.read(gy), await ref.read(ry), { atol: 2e-2, rtol: 2e-3, name: `${name} y` });
      assertClose(await gpu.read(gdw), await ref.read(rdw), { atol: 2e-2, rtol: 2e-3, name: `${name} dW` });
      for (const t of [gx, gw, gb, gpre, gact, gw2, gy, gdy, gdw]) gpu.free(t);
    }
  },
);

gpuTest(
  "webgpu --fp16 FFN: the float16 activation of the unfused path (gelu, castToF16) equals the fused epilogue's",
  async (gpu) => {
    if (!gpu.hasF16) return;
    const unfused = await openGpu({ fuse: false });
    try {
      const rng = new Rng(23);
      const [rows, C, I] = [20, 12, 36];
      const host = {
        x: rng.fillNormal(new Float32Array(rows * C)),
        ffnInW: Float32Array.from(rng.fillNormal(new Float32Array(I * C)), f16),
        ffnInB: rng.fillNormal(new Float32Array(I)),
        ffnOutW: Float32Array.from(rng.fillNormal(new Float32Array(C * I)), f16),
        ffnOutB: rng.fillNormal(new Float32Array(C)),
        ln2W: rng.fillNormal(new Float32Array(C)),
        ln2B: rng.fillNormal(new Float32Array(C)),
      };
      const run = async (be: typeof gpu) => {
        const f = (shape: number[], v?: Float32Array) => {
          const t = be.alloc(shape);
          if (v) be.write(t, v);
          return t;
        };
        const h = (shape: number[], v: Float32Array) => {
          const t = be.allocF16(shape);
          be.write(t, v);
          return t;
        };
        const w = {
          ffnInW: h([I, C], host.ffnInW),
          ffnInB: f([I], host.ffnInB),
          ffnOutW: h([C, I], host.ffnOutW),
          ffnOutB: f([C], host.ffnOutB),
          ln2W: f([C], host.ln2W),
          ln2B: f([C], host.ln2B),
        } as unknown as LayerTensors;
        const t = {
          pre: f([rows, I]),
          act: be.allocF16([rows, I]),
          grad: f([rows, I]),
          proj: f([rows, C]),
          dropped: f([rows, C]),
          res: f([rows, C]),
          mean: f([rows]),
          rstd: f([rows]),
          out: f([rows, C]),
        };
        ffnForward(be, w, f([rows, C], host.x), t, 1e-12, null);
        return { act: await be.read(t.act), grad: await be.read(t.grad), out: await be.read(t.out) };
      };
      const fused = await run(gpu), plain = await run(unfused);
      assert.ok(!unfused.fused);
      assert.deepEqual(plain.act, fused.act, "float16 activations");
      assert.deepEqual(plain.grad, fused.grad, "gelu'");
      assertClose(plain.out, fused.out, { atol: 1e-5, rtol: 1e-5, name: "out" });
    } finally {
      unfused.destroy();
    }
  },
);

gpuTest(
  "webgpu matmul, gemmHalfMath: float16 tiles and K-tile sums stay within their float16 bound of the exact product",
  async (gpu) => {
    if (!gpu.hasF16) return;
    const rng = new Rng(24);
    const u16 = 2 ** -11; // float16's unit roundoff
    for (const tile of ["small", "large_k8_db", "half_n"] as const) {
      const half = await openGpu({ gemmHalfMath: true, gemmTile: tile, splitK: false });
      const full = await openGpu({ gemmTile: tile, splitK: false });
      try {
        for (
          const [m, n, k, transA, transB] of [[132, 136, 44, false, true], [37, 70, 45, false, false], [
            40,
            24,
            76,
            true,
            false,
          ]] as [number, number, number, boolean, boolean][]
        ) {
          const a = rng.fillNormal(new Float32Array(m * k));
          const b = Float32Array.from(rng.fillNormal(new Float32Array(n * k)), f16);
          const run = async (be: typeof gpu) => {
            const ta = be.alloc([a.length]), tb = be.allocF16([b.length]), tc = be.alloc([m * n]);
            be.write(ta, a);
            be.write(tb, b);
            const ran = Object.keys(
              await kernelsDispatched(be, () => be.matmul({ a: ta, b: tb, c: tc, m, n, k, transA, transB })),
            );
            const c = Float32Array.from(await be.read(tc));
            for (const t of [ta, tb, tc]) be.free(t);
            return { c, ran };
          };
          const got = await run(half), f32 = await run(full);
          const name = `${tile} ${m}×${n}×${k} tA=${transA} tB=${transB}`;
          assert.ok(got.ran.every((r) => r.endsWith("_m16")) && got.ran.length === 1, `${name}: ${got.ran}`);
          assert.ok(!f32.ran[0].endsWith("_m16"), name);
          // exact product of the float16-rounded operands (A is rounded on load), and Σ|a·b| per element
          const bk = { small: 16, large_k8_db: 8, half_n: 16 }[tile];
          let worst = 0, differs = false;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let exact = 0, mag = 0;
              for (let p = 0; p < k; p++) {
                const av = f16(a[transA ? p * m + i : i * k + p]), bv = b[transB ? j * k + p : p * n + j];
                exact += av * bv;
                mag += Math.abs(av * bv);
              }
              const err = Math.abs(got.c[i * n + j] - exact);
              worst = Math.max(worst, err / (mag * u16 * bk));
              assert.ok(
                err <= 2 * bk * u16 * mag + 1e-5,
                `${name} [${i}, ${j}]: ${got.c[i * n + j]} vs ${exact}`,
              );
              if (got.c[i * n + j] !== f32.c[i * n + j]) differs = true;
            }
          }
          assert.ok(differs, `${name}: float16 math gave the float32 kernel's result bit for bit`);
          console.error(`${name}: largest error ${worst.toFixed(3)} × BK·u₁₆·Σ|ab|`);
        }
      } finally {
        half.destroy();
        full.destroy();
      }
    }
  },
);
