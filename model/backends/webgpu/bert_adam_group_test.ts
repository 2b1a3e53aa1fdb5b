import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import type { Backend, BertAdamTensors, Tensor } from "../../backend.ts";
import type { WebGpuBackend } from "./backend.ts";
import { gpuTest, openGpu, twin } from "./test_utils.ts";

// A flat table as a model has it: tensors of several sizes (one spanning many chunks), gradients from tiny
// (no clip) to large (clipped), weight decay on some; plus one tensor in buffers of its own, in the middle
// of the list (it ends a group and takes the one-tensor path).
const SIZES = [33, 700, 20000, 1, 50, 9000];
const STDS = [0.01, 3, 0.5, 2, 0.001, 0.2];
const DECAY = [0.01, 0, 0.01, 0, 0.01, 0];
const OWN = 3; // index in the list after which the separate tensor comes

async function groupCase(gpu: WebGpuBackend, rng: Rng, maxGradNorm: number, label: string): Promise<void> {
  const n = SIZES.reduce((a, b) => a + b, 0);
  const grad = new Float32Array(n);
  let at = 0;
  SIZES.forEach((s, i) => {
    grad.set(rng.fillNormal(new Float32Array(s)).map((x) => x * STDS[i]), at);
    at += s;
  });
  const normal = (k: number, std: number) => rng.fillNormal(new Float32Array(k)).map((x) => x * std);
  const e = 77;
  await twin(gpu, {
    param: { shape: [n], data: normal(n, 1) },
    grad: { shape: [n], data: grad },
    m: { shape: [n], data: normal(n, 0.01) },
    v: { shape: [n], data: rng.fillUniform(new Float32Array(n), 0, 1e-3) },
    p2: { shape: [e], data: normal(e, 1) },
    g2: { shape: [e], data: normal(e, 5) },
    m2: { shape: [e], data: normal(e, 0.01) },
    v2: { shape: [e], data: rng.fillUniform(new Float32Array(e), 0, 1e-3) },
  }, (be: Backend, t: Record<string, Tensor>) => {
    const tensors: BertAdamTensors[] = [];
    let off = 0;
    SIZES.forEach((s, i) => {
      const view = (x: Tensor) => be.view(x, off, [s]);
      tensors.push({
        param: view(t.param),
        grad: view(t.grad),
        m: view(t.m),
        v: view(t.v),
        weightDecay: DECAY[i],
      });
      if (i === OWN) tensors.push({ param: t.p2, grad: t.g2, m: t.m2, v: t.v2, weightDecay: 0.01 });
      off += s;
    });
    for (let step = 0; step < 2; step++) be.bertAdamUpdateGroup({ tensors, lr: 1e-3, maxGradNorm });
  }, {
    param: { atol: 1e-6, rtol: 1e-6 },
    m: { atol: 1e-8, rtol: 1e-5 },
    v: { atol: 1e-10, rtol: 1e-5 },
    p2: { atol: 1e-6, rtol: 1e-6 },
    grad: { atol: 0, rtol: 0 },
  }, label);
}

gpuTest("webgpu grouped BertAdam matches BertAdam tensor by tensor on the reference backend", async (gpu) => {
  const rng = new Rng(40);
  await groupCase(gpu, rng, 1, "group clip 1");
  await groupCase(gpu, rng, 0, "group no clip");
});

gpuTest("webgpu grouped BertAdam under a tiny binding limit (small groups, big tensors alone)", async () => {
  const small = await openGpu({ maxBindingBytes: 4096 });
  try {
    const before = small.rt.dispatchCount;
    await groupCase(small, new Rng(41), 1, "group split");
    assert.ok(small.rt.dispatchCount - before > 8, "the group was split");
  } finally {
    small.destroy();
  }
});

gpuTest("webgpu grouped BertAdam uses two dispatches for a table's tensors", async (gpu) => {
  const n = 5000, parts = [1000, 3000, 1000];
  const [p, g, m, v] = [0, 1, 2, 3].map(() => gpu.alloc([n]));
  let off = 0;
  const tensors = parts.map((s) => {
    const view = (x: Tensor) => gpu.view(x, off, [s]);
    const t = { param: view(p), grad: view(g), m: view(m), v: view(v), weightDecay: 0.01 };
    off += s;
    return t;
  });
  const before = gpu.rt.dispatchCount;
  gpu.bertAdamUpdateGroup({ tensors, lr: 1e-3 });
  assert.equal(gpu.rt.dispatchCount - before, 2);
  await gpu.sync();
  for (const t of [p, g, m, v]) gpu.free(t);
});
