import assert from "node:assert/strict";
import { NoAdapterError, WebGpuBackend } from "@vlp/model";
import { runCli } from "@vlp/testing";
import { checkGpuSelection, type GpuPlan, pciTag, planGpuSelection } from "./gpu_select.ts";
import { type VulkanDevice, type VulkanInventory, vulkanInventory } from "./vulkan_devices.ts";

const LAVAPIPE: VulkanDevice = {
  index: 0,
  name: "llvmpipe (LLVM 15.0.6, 256 bits)",
  vendorId: 0x10005,
  deviceId: 0,
  type: "cpu",
};
/** 4 identical GPUs at their PCI addresses, then lavapipe. */
const FOUR_H100: VulkanInventory = {
  devices: [
    ...[0x18, 0x2a, 0x3a, 0x5d].map((bus, index): VulkanDevice => ({
      index,
      name: "NVIDIA H100 80GB HBM3",
      vendorId: 0x10de,
      deviceId: 0x2330,
      type: "discrete",
      pci: { domain: 0, bus, device: 0, function: 0 },
    })),
    { ...LAVAPIPE, index: 4 },
  ],
  deviceSelectLayer: true,
};

Deno.test("planGpuSelection(): identical GPUs by PCI address, distinct ones by vid:did; CPU devices left out", () => {
  const p = planGpuSelection(FOUR_H100, 2, {});
  assert.equal(p.kind, "select");
  assert.deepEqual(p.kind === "select" && [p.device.index, p.candidates, p.env], [2, 4, {
    MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: "1",
    DRI_PRIME: "pci-0000_3a_00_0",
    DENO_WEBGPU_BACKEND: "vulkan",
  }]);
  // ranks beyond the GPUs share them
  const p5 = planGpuSelection(FOUR_H100, 5, {});
  assert.equal(p5.kind === "select" && p5.device.index, 1);
  // two different GPUs: named by vid:did; DENO_WEBGPU_BACKEND as the environment has it
  const mixed: VulkanInventory = {
    devices: [
      { index: 0, name: "AMD Radeon 780M", vendorId: 0x1002, deviceId: 0x15bf, type: "integrated" },
      { index: 1, name: "NVIDIA GeForce RTX 4090", vendorId: 0x10de, deviceId: 0x2684, type: "discrete" },
    ],
    deviceSelectLayer: true,
  };
  assert.deepEqual(planGpuSelection(mixed, 1, { DENO_WEBGPU_BACKEND: "vulkan,gl" }), {
    kind: "select",
    device: mixed.devices[1],
    candidates: 2,
    env: { MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: "1", MESA_VK_DEVICE_SELECT: "10de:2684" },
  });
  assert.equal(pciTag({ domain: 1, bus: 0xc7, device: 3, function: 1 }), "pci-0001_c7_03_1");
});

Deno.test("planGpuSelection(): nothing set with one device, a choice of the launch environment, no layer, or twins without PCI addresses", () => {
  const reason = (p: GpuPlan) => (p.kind === "none" ? p.reason : "selected");
  assert.equal(
    reason(planGpuSelection({ devices: [LAVAPIPE], deviceSelectLayer: true }, 1, {})),
    "one Vulkan device",
  );
  assert.match(
    reason(planGpuSelection(FOUR_H100, 1, { DRI_PRIME: "pci-0000_18_00_0" })),
    /the launch environment chooses \(DRI_PRIME=pci-0000_18_00_0\)/,
  );
  assert.match(
    reason(planGpuSelection(FOUR_H100, 1, { MESA_VK_DEVICE_SELECT: "10de:2330" })),
    /MESA_VK_DEVICE_SELECT/,
  );
  assert.match(
    reason(planGpuSelection({ ...FOUR_H100, deviceSelectLayer: false }, 1, {})),
    /4 Vulkan devices but no Mesa device-select layer/,
  );
  const noPci = { ...FOUR_H100, devices: FOUR_H100.devices.map(({ pci: _, ...d }) => d) };
  assert.match(
    reason(planGpuSelection(noPci, 1, {})),
    /4 devices "NVIDIA H100 80GB HBM3" without a PCI address/,
  );
  assert.match(reason(planGpuSelection(null, 1, {})), /cannot be opened/);
});

Deno.test("checkGpuSelection(): the adapter WebGPU opened must be the planned device", () => {
  const plan = planGpuSelection(FOUR_H100, 3, {});
  checkGpuSelection(plan, "NVIDIA H100 80GB HBM3", 3);
  assert.throws(
    () => checkGpuSelection(plan, "llvmpipe (LLVM 15.0.6, 256 bits)", 3),
    /Cannot give local rank 3 its GPU: asked for Vulkan device 3 of 4 \("NVIDIA H100 80GB HBM3", pci-0000_5d_00_0\).*but WebGPU opened "llvmpipe/,
  );
  checkGpuSelection({ kind: "none", reason: "one Vulkan device" }, "anything", 0);
});

// the machine's own devices: CI (VLP_REQUIRE_GPU=1) has lavapipe
const adapter = await WebGpuBackend.create().then(
  (be) => {
    const name = be.adapterName;
    be.destroy();
    return name;
  },
  (e) => {
    if (!(e instanceof NoAdapterError) || Deno.env.get("VLP_REQUIRE_GPU") === "1") throw e;
    return null;
  },
);
const PROBE = "train/dist/testdata/gpu_select_probe.ts";

Deno.test({
  name: "vulkanInventory(): the devices the loader lists include the adapter WebGPU opens",
  ignore: adapter === null,
  fn: () => {
    const inv = vulkanInventory();
    assert.ok(inv && inv.devices.length >= 1);
    assert.ok(
      inv.devices.some((d) => d.name === adapter),
      `${adapter} among ${inv.devices.map((d) => d.name)}`,
    );
    for (const d of inv.devices) {
      assert.ok(Number.isInteger(d.vendorId) && d.vendorId > 0 && d.name.length > 0);
    }
    assert.equal(vulkanInventory("libvulkan-none.so.1"), null);
  },
});

Deno.test({
  name:
    "a selection set with Deno.env.set before the first requestAdapter reaches the Vulkan device-select layer",
  ignore: adapter === null || !vulkanInventory()?.deviceSelectLayer,
  fn: async () => {
    // the layer reads MESA_VK_DEVICE_SELECT inside requestAdapter: "list" makes it print and end the process
    const list = await runCli(PROBE, ["list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stderr, /selectable devices:/);
    assert.ok(list.stderr.includes(adapter!), list.stderr);
    assert.doesNotMatch(list.stdout, /did not read/);
    // the plan of the machine's first device, by its vid:did: that adapter opens, and the check passes
    const first = vulkanInventory()!.devices[0];
    const id = `${first.vendorId.toString(16)}:${first.deviceId.toString(16).padStart(4, "0")}`;
    const ok = await runCli(PROBE, ["select", id]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.json, { adapter: first.name });
    // a device the machine lacks: the layer keeps its default, and the check names both
    const wrong = await runCli(PROBE, ["select", "10de:2330"]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /Cannot give local rank 1 its GPU: .* but WebGPU opened/);
  },
});
