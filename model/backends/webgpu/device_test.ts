import assert from "node:assert/strict";
import { NoAdapterError, requestGpu } from "./device.ts";
import type { KernelDef } from "./kernel.ts";
import { FILL } from "./kernels/fill.ts";
import { gpuTensor } from "./runtime.ts";
import { gpuTest, openGpu } from "./test_utils.ts";

Deno.test("requestGpu() without WebGPU or without an adapter says what to install", async () => {
  await assert.rejects(requestGpu({ gpu: null }), (e: Error) => {
    assert.ok(e instanceof NoAdapterError);
    assert.match(e.message, /navigator\.gpu is not available; install a Vulkan driver .*mesa-vulkan-drivers/);
    return true;
  });
  const noAdapter = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
  await assert.rejects(
    requestGpu({ gpu: noAdapter }),
    /no WebGPU adapter was found; install a Vulkan driver/,
  );
});

gpuTest("webgpu device limits are raised to the adapter's", (gpu) => {
  const lim = gpu.rt.device.limits;
  assert.ok(lim.maxStorageBufferBindingSize >= 128 * 2 ** 20);
  assert.ok(lim.maxComputeWorkgroupStorageSize >= 16384);
  assert.ok(gpu.adapterName.length > 0);
});

gpuTest("webgpu errors: a kernel that fails to compile is named by the next read", async (gpu) => {
  const broken: KernelDef = {
    name: "broken_test_kernel",
    workgroupSize: [64, 1],
    bindings: [{ name: "out", access: "read_write", type: "f32", shape: "[n]" }],
    uniforms: { n: "u32" },
    body: "@compute @workgroup_size(WG_X, WG_Y) fn main() { let x: f32 = undefined_name; }",
  };
  const t = gpu.alloc([4]);
  gpu.rt.dispatch(broken, { out: gpu.rt.dummy("f32") }, { n: 4 }, 1);
  await assert.rejects(gpu.read(t), /broken_test_kernel/);
  // the backend keeps working afterwards
  gpu.fill(t, 2);
  assert.deepEqual([...await gpu.read(t)], [2, 2, 2, 2]);
  gpu.free(t);
});

gpuTest(
  "webgpu misuse: wrong dtypes, freed tensors, foreign tensors and missing uniforms are clear errors",
  (gpu) => {
    const f = gpu.alloc([3]), i = gpu.alloc([3], "int32");
    assert.throws(
      () => gpu.rt.dispatch(FILL, { out: gpuTensor(f) }, { bits: 0 }, 1),
      /kernel fill: uniform "n" is undefined/,
    );
    assert.throws(
      () => gpu.rt.dispatch(FILL, { out: gpuTensor(f) }, { n: 3, bits: 0, nope: 1 }, 1),
      /unknown uniform "nope"/,
    );
    assert.throws(() => gpu.rt.dispatch(FILL, {}, { n: 3, bits: 0 }, 1), /binding "out" \[n\] is missing/);
    assert.throws(() => gpu.relu({ x: i, out: f }), /binding "x" \[n\] expects f32, got i32/);
    assert.throws(() => gpu.add({ a: f, b: f, out: gpu.alloc([4]) }), /sizes differ/);
    assert.throws(() => gpu.view(f, 2, [2]), RangeError);
    gpu.free(f);
    assert.throws(() => gpu.relu({ x: f, out: f }), /it was freed/);
    assert.throws(
      () => gpu.relu({ x: { shape: [3], size: 3, dtype: "float" }, out: i }),
      /does not belong to the WebGPU backend/,
    );
    assert.throws(() => gpu.write(i, [1, 2]), /Cannot write 2 values into a tensor of shape \[3\]/);
    gpu.free(i);
  },
);

gpuTest("webgpu device loss is reported by every later call", async (_gpu) => {
  const be = await openGpu({});
  const t = be.alloc([4]);
  be.rt.device.destroy();
  await be.rt.device.lost;
  assert.throws(() => be.fill(t, 1), /the WebGPU device was lost \(destroyed\)/);
  await assert.rejects(be.read(t), /device was lost/);
});
