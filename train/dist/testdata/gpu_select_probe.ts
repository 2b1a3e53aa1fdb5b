// Run by gpu_select_test.ts: variables set with Deno.env.set before this process's first requestAdapter
// reach the Vulkan loader's device-select layer.
//   list              MESA_VK_DEVICE_SELECT=list: the layer prints its devices and ends the process
//   select VID:DID    a plan naming that device (one of the machine's, or one it lacks): applied, the
//                     adapter opened, checked; prints the adapter's name (exit 1 with the check's error)
import { WebGpuBackend } from "@vlp/model";
import { applyGpuSelection, checkGpuSelection, type GpuPlan } from "../gpu_select.ts";
import { vulkanInventory } from "../vulkan_devices.ts";

const [mode, id] = Deno.args;
if (mode === "list") {
  Deno.env.set("MESA_VK_DEVICE_SELECT", "list");
  await WebGpuBackend.create();
  console.log("the layer did not read the variable");
} else {
  const [vid, did] = id.split(":").map((x) => parseInt(x, 16));
  const device = vulkanInventory()!.devices.find((d) => d.vendorId === vid && d.deviceId === did) ??
    {
      index: 1,
      name: "a device this machine lacks",
      vendorId: vid,
      deviceId: did,
      type: "discrete" as const,
    };
  const plan: GpuPlan = {
    kind: "select",
    device,
    candidates: 2,
    env: {
      MESA_VK_DEVICE_SELECT: id,
      MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: "1",
      DENO_WEBGPU_BACKEND: "vulkan",
    },
  };
  applyGpuSelection(plan);
  const be = await WebGpuBackend.create();
  try {
    checkGpuSelection(plan, be.adapterName, 1);
    console.log(JSON.stringify({ adapter: be.adapterName }));
  } catch (e) {
    console.error((e as Error).message);
    Deno.exitCode = 1;
  } finally {
    be.destroy();
  }
}
