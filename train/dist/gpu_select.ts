/**
 * `--local_rank` picking the GPU adapter of `--backend webgpu`: one rank per GPU, as the original's
 * `torch.cuda.set_device(local_rank)`.
 *
 * Deno's `navigator.gpu` has `requestAdapter({ powerPreference })` only: no list of adapters, no index, and
 * Deno reads no adapter-name variable (it reads `DENO_WEBGPU_BACKEND` alone, when it creates its wgpu
 * instance at the first `requestAdapter`). wgpu then takes the first discrete GPU of the order the Vulkan
 * loader gives. So the choice is made below wgpu, in the Vulkan loader's environment, which is read when
 * devices are enumerated, i.e. inside this process's first `requestAdapter`: setting it with `Deno.env.set`
 * before that call is enough (dist/gpu_select_test.ts shows the layer reading a value set that way).
 *
 * What honours such a variable:
 * - Mesa's device-select layer (`VK_LAYER_MESA_device_select`, an implicit layer of Debian's
 *   mesa-vulkan-drivers; it applies to every driver's devices, NVIDIA's included): `MESA_VK_DEVICE_SELECT=
 *   vid:did` puts that device first, `DRI_PRIME=pci-DDDD_BB_DD_F` the device at that PCI address (what tells
 *   identical GPUs apart), and `MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE=1` hides every other device;
 * - the Khronos loader's `VK_LOADER_DEVICE_SELECT=0xvid:0xdid` (Linux, loader 1.3.2xx) only reorders, by
 *   vendor and device id, so it cannot pick one of several identical GPUs: not used;
 * - nothing in NVIDIA's Vulkan driver (`CUDA_VISIBLE_DEVICES` is CUDA's; its Vulkan driver ignores it).
 *
 * So ({@linkcode planGpuSelection}): the devices are listed through the loader (vulkan_devices.ts); CPU
 * devices (lavapipe) are left out when a GPU is present; with more than one device, local rank k takes device
 * k mod count (ranks beyond the devices share them, as ranks outnumbering GPUs must), named by its PCI address
 * where two devices share vendor and device id, else by vid:did, with the others hidden, and
 * `DENO_WEBGPU_BACKEND=vulkan` (where unset) so that no OpenGL adapter competes. Nothing is set with one
 * device, without the device-select layer (the ranks then share wgpu's choice: a note says so), or where the
 * launch environment already chooses (any of the variables above set, e.g. with `mpirun -x`). After the
 * backend is open, {@linkcode checkGpuSelection} compares the adapter's name with the device's.
 *
 * @module
 */
import { type VulkanDevice, type VulkanInventory, vulkanInventory } from "./vulkan_devices.ts";
import type { World } from "./world.ts";

/** Variables through which the launch environment chooses the device itself (then nothing is set here). */
export const SELECTOR_VARIABLES = [
  "MESA_VK_DEVICE_SELECT",
  "MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE",
  "DRI_PRIME",
  "VK_LOADER_DEVICE_SELECT",
] as const;

/** The outcome of {@linkcode planGpuSelection}. */
export type GpuPlan =
  | { kind: "select"; device: VulkanDevice; candidates: number; env: Record<string, string> }
  | { kind: "none"; reason: string };

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** The device-select layer's tag of a PCI address: `pci-DDDD_BB_DD_F`. */
export function pciTag(p: NonNullable<VulkanDevice["pci"]>): string {
  return `pci-${hex(p.domain, 4)}_${hex(p.bus, 2)}_${hex(p.device, 2)}_${p.function}`;
}

/** The variables that make local rank `localRank`'s adapter its own device (see the module doc). */
export function planGpuSelection(
  inventory: VulkanInventory | null,
  localRank: number,
  env: Record<string, string | undefined>,
): GpuPlan {
  const given = SELECTOR_VARIABLES.find((k) => env[k] !== undefined);
  if (given) return { kind: "none", reason: `the launch environment chooses (${given}=${env[given]})` };
  if (!inventory) return { kind: "none", reason: "the Vulkan loader (libvulkan.so.1) cannot be opened" };
  const gpus = inventory.devices.filter((d) => d.type !== "cpu");
  const candidates = gpus.length ? gpus : inventory.devices;
  if (candidates.length <= 1) {
    return { kind: "none", reason: `${candidates.length ? "one Vulkan device" : "no Vulkan device"}` };
  }
  if (!inventory.deviceSelectLayer) {
    return {
      kind: "none",
      reason:
        `${candidates.length} Vulkan devices but no Mesa device-select layer (Debian: mesa-vulkan-drivers) ` +
        "to choose among them: every rank opens wgpu's choice; install it or give each rank its GPU through the " +
        "launch environment",
    };
  }
  const device = candidates[localRank % candidates.length];
  const twins = candidates.filter((d) => d.vendorId === device.vendorId && d.deviceId === device.deviceId);
  const out: Record<string, string> = { MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: "1" };
  if (twins.length === 1) {
    out.MESA_VK_DEVICE_SELECT = `${hex(device.vendorId, 4)}:${hex(device.deviceId, 4)}`;
  } else if (device.pci) {
    out.DRI_PRIME = pciTag(device.pci);
  } else {
    return {
      kind: "none",
      reason:
        `${twins.length} devices "${device.name}" without a PCI address (VK_EXT_pci_bus_info) cannot be ` +
        "told apart: every rank opens wgpu's choice",
    };
  }
  if (env.DENO_WEBGPU_BACKEND === undefined) out.DENO_WEBGPU_BACKEND = "vulkan";
  return { kind: "select", device, candidates: candidates.length, env: out };
}

/** Set a plan's variables in this process (before its first `requestAdapter`). */
export function applyGpuSelection(plan: GpuPlan): void {
  if (plan.kind === "select") { for (const [k, v] of Object.entries(plan.env)) Deno.env.set(k, v); }
}

/** A line for the log: which device this rank asked for, or why none. */
export function describeGpuSelection(plan: GpuPlan, localRank: number): string {
  if (plan.kind === "none") return `local rank ${localRank}: no GPU adapter chosen: ${plan.reason}`;
  const d = plan.device;
  return `local rank ${localRank}: Vulkan device ${d.index} of ${plan.candidates} ("${d.name}"${
    d.pci ? `, ${pciTag(d.pci)}` : ""
  }) through ${Object.entries(plan.env).map(([k, v]) => `${k}=${v}`).join(" ")}`;
}

/** Throws unless the adapter the backend opened is the planned device (compared by name). */
export function checkGpuSelection(plan: GpuPlan, adapterName: string, localRank: number): void {
  if (plan.kind === "select" && adapterName !== plan.device.name) {
    throw new Error(
      `Cannot give local rank ${localRank} its GPU: ${
        describeGpuSelection(plan, localRank).replace(/^local rank \d+: /, "asked for ")
      }, but WebGPU opened "${adapterName}"; choose each rank's device through the launch environment ` +
        `(a wrapper that sets MESA_VK_DEVICE_SELECT or DRI_PRIME from OMPI_COMM_WORLD_LOCAL_RANK), which is then ` +
        "left as it is",
    );
  }
}

/**
 * Across ranks, before the first `requestAdapter` of this process: list the Vulkan devices, plan this local
 * rank's and set the plan's variables. A world of one keeps wgpu's own choice.
 */
export function selectGpuForRank(world: World): GpuPlan {
  if (world.size === 1) return { kind: "none", reason: "one process" };
  const plan = planGpuSelection(vulkanInventory(), world.localRank, Deno.env.toObject());
  applyGpuSelection(plan);
  return plan;
}

/**
 * Open a command's backend on this rank: for `webgpu` across ranks, this local rank's device is chosen
 * before the adapter is requested and checked after (the plan is logged); other backends as they are.
 */
export async function openRankBackend<B>(
  world: World,
  name: string,
  open: () => Promise<B>,
  log: (line: string) => void,
): Promise<B> {
  const plan = name === "webgpu" ? selectGpuForRank(world) : null;
  const backend = await open();
  if (plan && world.size > 1) {
    log(describeGpuSelection(plan, world.localRank));
    checkGpuSelection(plan, (backend as { adapterName?: string }).adapterName ?? "", world.localRank);
  }
  return backend;
}
