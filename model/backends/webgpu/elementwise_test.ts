import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { dropoutForward } from "../../kernels/dropout.ts";
import { erfPrecise } from "../../kernels/activations.ts";
import { gpuTest, twin } from "./test_utils.ts";

// awkward sizes: not multiples of the workgroup size, views at odd element offsets
const N = 2 * 7 * 33;

function normal(rng: Rng, n: number, std = 1): Float32Array {
  return rng.fillNormal(new Float32Array(n), 0, std);
}

gpuTest(
  "webgpu add, mul, axpy, fill and copy match the reference, also on views at odd offsets",
  async (gpu) => {
    const rng = new Rng(1);
    const a = normal(rng, N), b = normal(rng, N), y = normal(rng, N);
    await twin(
      gpu,
      { a: { shape: [N], data: a }, b: { shape: [N], data: b }, out: { shape: [N] } },
      (be, t) => {
        be.add({ a: t.a, b: t.b, out: t.out });
      },
      { out: {} },
      "add",
    );
    await twin(
      gpu,
      { a: { shape: [N], data: a }, b: { shape: [N], data: b }, out: { shape: [N] } },
      (be, t) => {
        be.mul({ a: t.a, b: t.b, out: t.out });
      },
      { out: {} },
      "mul",
    );
    await twin(
      gpu,
      { x: { shape: [N], data: a }, y: { shape: [N], data: y } },
      (be, t) => {
        be.axpy({ x: t.x, y: t.y, alpha: -0.37 });
      },
      { y: { atol: 1e-6 } },
      "axpy",
    );
    // views at odd offsets, inside one buffer (the aliased pipeline variant)
    await twin(
      gpu,
      { buf: { shape: [3 * N + 5], data: normal(rng, 3 * N + 5) } },
      (be, t) => {
        const va = be.view(t.buf, 1, [N]),
          vb = be.view(t.buf, N + 2, [N]),
          vo = be.view(t.buf, 2 * N + 5, [N]);
        be.add({ a: va, b: vb, out: vo });
        be.fill(be.view(t.buf, 0, [1]), 7.5);
      },
      { buf: {} },
      "aliased add",
    );
    // int fill and copies between and within buffers
    await twin(
      gpu,
      { i: { shape: [N], dtype: "int32" }, j: { shape: [N], dtype: "int32" } },
      (be, t) => {
        be.fill(t.i, -3);
        be.fill(be.view(t.i, 5, [4]), 123456789);
        be.copy(t.i, t.j);
        be.copy(be.view(t.i, 3, [40]), be.view(t.i, 101, [40])); // disjoint ranges of one buffer
      },
      { i: { atol: 0 }, j: { atol: 0 } },
      "int fill/copy",
    );
  },
);

gpuTest("webgpu copyStrided matches the reference for a head-split layout", async (gpu) => {
  const rng = new Rng(2);
  const [B, L, NH, HS] = [2, 7, 3, 5];
  await twin(gpu, {
    src: { shape: [B, L, 3 * NH * HS], data: normal(rng, B * L * 3 * NH * HS) },
    dst: { shape: [B, NH, L, HS], data: normal(rng, B * NH * L * HS) },
  }, (be, t) => {
    // [B, L, NH, HS] (the K third of a fused QKV row) -> [B, NH, L, HS], one call per batch item
    for (let b = 0; b < B; b++) {
      be.copyStrided({
        src: be.view(t.src, b * L * 3 * NH * HS + NH * HS, [L * 3 * NH * HS - NH * HS]),
        dst: be.view(t.dst, b * NH * L * HS, [NH * L * HS]),
        shape: [L, NH, HS],
        srcStride: [3 * NH * HS, HS],
        dstStride: [HS, L * HS],
      });
    }
  }, { dst: { atol: 0 } });
});

gpuTest("webgpu gelu, relu, tanh and their backward passes match the reference", async (gpu) => {
  const rng = new Rng(3);
  const x = normal(rng, N, 3), dy = normal(rng, N);
  x[0] = 0;
  x[1] = 40;
  x[2] = -40; // tanh must not give NaN for large |x|
  const io = {
    x: { shape: [N], data: x },
    dout: { shape: [N], data: dy },
    out: { shape: [N] },
    dx: { shape: [N] },
  };
  await twin(
    gpu,
    io,
    (be, t) => be.gelu({ x: t.x, out: t.out }),
    { out: { atol: 1e-6, rtol: 1e-5 } },
    "gelu",
  );
  await twin(gpu, io, (be, t) => be.geluBackward({ x: t.x, dout: t.dout, dx: t.dx }), {
    dx: { atol: 1e-6, rtol: 1e-5 },
  }, "geluBackward");
  await twin(gpu, { ...io, grad: { shape: [N] } }, (be, t) => be.gelu({ x: t.x, out: t.out, grad: t.grad }), {
    out: { atol: 1e-6, rtol: 1e-5 },
    grad: { atol: 1e-6, rtol: 1e-5 },
  }, "gelu with grad");
  await twin(gpu, io, (be, t) => be.relu({ x: t.x, out: t.out }), { out: { atol: 0 } }, "relu");
  await twin(
    gpu,
    io,
    (be, t) => {
      be.relu({ x: t.x, out: t.out });
      be.reluBackward({ y: t.out, dout: t.dout, dx: t.dx });
    },
    { dx: { atol: 0 } },
    "reluBackward",
  );
  await twin(
    gpu,
    io,
    (be, t) => be.tanh({ x: t.x, out: t.out }),
    { out: { atol: 2e-6, rtol: 1e-5 } },
    "tanh",
  );
});

gpuTest("webgpu gelu is within float32 rounding of the exact x·Φ(x) (erf to 1.5e-7)", async (gpu) => {
  const n = 4001;
  const x = Float32Array.from({ length: n }, (_, i) => -8 + (16 * i) / (n - 1));
  const tx = gpu.alloc([n]), ty = gpu.alloc([n]);
  gpu.write(tx, x);
  gpu.gelu({ x: tx, out: ty });
  const y = await gpu.read(ty);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const exact = 0.5 * x[i] * (1 + erfPrecise(x[i] / Math.SQRT2));
    worst = Math.max(worst, Math.abs(y[i] - exact) / Math.max(1, Math.abs(exact)));
  }
  assert.ok(worst < 5e-7, `gelu worst error ${worst}`);
  gpu.free(tx);
  gpu.free(ty);
});

gpuTest("webgpu dropout reproduces the CPU twin's mask bit for bit, forward and backward", async (gpu) => {
  const rng = new Rng(4);
  const n = 5000, p = 0.1, seed = 0xdeadbeef;
  const x = normal(rng, n);
  const tx = gpu.alloc([n]), ty = gpu.alloc([n]), tdx = gpu.alloc([n]);
  gpu.write(tx, x);
  gpu.dropout({ x: tx, out: ty, p, seed });
  gpu.dropoutBackward({ dout: tx, dx: tdx, p, seed });
  const y = await gpu.read(ty), dx = await gpu.read(tdx);
  const ref = new Float32Array(n);
  dropoutForward(x, ref, p, seed);
  let dropped = 0;
  for (let i = 0; i < n; i++) {
    assert.equal(y[i] === 0, ref[i] === 0, `mask differs at ${i}`);
    assert.ok(
      Math.abs(y[i] - ref[i]) <= 1e-6 * Math.abs(ref[i]),
      `value differs at ${i}: ${y[i]} vs ${ref[i]}`,
    );
    if (ref[i] === 0) dropped++;
  }
  assert.deepEqual(dx, y);
  assert.ok(dropped > 400 && dropped < 600, `dropped ${dropped}`);
  for (const t of [tx, ty, tdx]) gpu.free(t);
});
