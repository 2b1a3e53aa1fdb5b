/**
 * The machine's Vulkan physical devices, listed through the Vulkan loader (`libvulkan.so.1`, `Deno.dlopen`),
 * for {@linkcode "./gpu_select.ts"}: Deno's WebGPU offers `requestAdapter` only (no enumeration), so the
 * devices a rank may choose from are read where wgpu itself finds them.
 *
 * One short-lived instance (API 1.1, no layers or extensions enabled beyond the implicit ones):
 * `vkEnumeratePhysicalDevices`, then per device `vkGetPhysicalDeviceProperties` (vendor and device id, type,
 * name) and, where the device offers `VK_EXT_pci_bus_info`, its PCI address through
 * `vkGetPhysicalDeviceProperties2` (what tells identical GPUs apart); and whether Mesa's device-select layer
 * (`VK_LAYER_MESA_device_select`, Debian's mesa-vulkan-drivers) is installed. The order is the loader's
 * (after the layer's sorting), the one wgpu sees.
 *
 * Struct layouts are those of `vulkan_core.h` on 64-bit Linux (offsets in the comments).
 *
 * @module
 */

/** One Vulkan physical device. */
export interface VulkanDevice {
  /** position in the loader's order */
  index: number;
  /** `deviceName`, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)" */
  name: string;
  vendorId: number;
  deviceId: number;
  type: "other" | "integrated" | "discrete" | "virtual" | "cpu";
  /** the PCI address (VK_EXT_pci_bus_info), when the device reports one */
  pci?: { domain: number; bus: number; device: number; function: number };
}

/** What the loader reports. */
export interface VulkanInventory {
  devices: VulkanDevice[];
  /** Mesa's device-select layer is installed (it honours MESA_VK_DEVICE_SELECT and DRI_PRIME) */
  deviceSelectLayer: boolean;
}

const TYPES = ["other", "integrated", "discrete", "virtual", "cpu"] as const;
const VK_API_VERSION_1_1 = (1 << 22) | (1 << 12);
const STRUCTURE_TYPE = {
  applicationInfo: 0,
  instanceCreateInfo: 1,
  physicalDeviceProperties2: 1000059001,
  pciBusInfo: 1000212000,
};

const SYMBOLS = {
  vkCreateInstance: { parameters: ["buffer", "pointer", "buffer"], result: "i32" },
  vkDestroyInstance: { parameters: ["pointer", "pointer"], result: "void" },
  vkEnumerateInstanceLayerProperties: { parameters: ["buffer", "buffer"], result: "i32" },
  vkEnumeratePhysicalDevices: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  vkGetPhysicalDeviceProperties: { parameters: ["pointer", "buffer"], result: "void" },
  vkGetPhysicalDeviceProperties2: { parameters: ["pointer", "buffer"], result: "void" },
  vkEnumerateDeviceExtensionProperties: {
    parameters: ["pointer", "pointer", "buffer", "buffer"],
    result: "i32",
  },
} as const;

type Vk = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Memory of its own (an ArrayBuffer's store never moves), so that its address may be written into a struct. */
function bytes(n: number): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(Math.max(n, 8)));
}

function address(b: Uint8Array<ArrayBuffer>): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
}

function cString(b: Uint8Array, offset: number, max: number): string {
  let end = offset;
  while (end < offset + max && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(offset, end));
}

function check(call: string, result: number): void {
  // VK_SUCCESS 0, VK_INCOMPLETE 5 (a list that grew between the two calls: the first entries are kept)
  if (result !== 0 && result !== 5) throw new Error(`${call} failed (VkResult ${result})`);
}

/** A count-then-fill Vulkan list call: `n` entries of `size` bytes. */
function list(
  call: string,
  size: number,
  fn: (count: Uint8Array<ArrayBuffer>, out: Uint8Array<ArrayBuffer> | null) => number,
) {
  const count = bytes(4);
  check(call, fn(count, null));
  const n = new DataView(count.buffer).getUint32(0, true);
  const out = bytes(n * size);
  if (n > 0) check(call, fn(count, out));
  return { n: Math.min(n, new DataView(count.buffer).getUint32(0, true)), out };
}

function layerPresent(vk: Vk, name: string): boolean {
  // VkLayerProperties [520]: layerName char[256] @0, specVersion @256, implementationVersion @260,
  // description char[256] @264
  const { n, out } = list(
    "vkEnumerateInstanceLayerProperties",
    520,
    (c, o) => vk.vkEnumerateInstanceLayerProperties(c, o),
  );
  for (let i = 0; i < n; i++) if (cString(out, i * 520, 256) === name) return true;
  return false;
}

function hasExtension(vk: Vk, pd: Deno.PointerValue, name: string): boolean {
  // VkExtensionProperties [260]: extensionName char[256] @0, specVersion @256
  const { n, out } = list(
    "vkEnumerateDeviceExtensionProperties",
    260,
    (c, o) => vk.vkEnumerateDeviceExtensionProperties(pd, null, c, o),
  );
  for (let i = 0; i < n; i++) if (cString(out, i * 260, 256) === name) return true;
  return false;
}

function describe(vk: Vk, pd: Deno.PointerValue, index: number): VulkanDevice {
  // VkPhysicalDeviceProperties [824]: apiVersion @0, driverVersion @4, vendorID @8, deviceID @12,
  // deviceType @16, deviceName char[256] @20, pipelineCacheUUID @276, limits @296, sparseProperties @800
  const props = bytes(1024);
  vk.vkGetPhysicalDeviceProperties(pd, props);
  const v = new DataView(props.buffer);
  const dev: VulkanDevice = {
    index,
    name: cString(props, 20, 256),
    vendorId: v.getUint32(8, true),
    deviceId: v.getUint32(12, true),
    type: TYPES[v.getUint32(16, true)] ?? "other",
  };
  if (v.getUint32(0, true) >= VK_API_VERSION_1_1 && hasExtension(vk, pd, "VK_EXT_pci_bus_info")) {
    // VkPhysicalDevicePCIBusInfoPropertiesEXT [32]: sType @0, pNext @8, pciDomain @16, pciBus @20,
    // pciDevice @24, pciFunction @28, chained to VkPhysicalDeviceProperties2 [840]: sType @0, pNext @8,
    // properties @16
    const pci = bytes(32), p2 = bytes(1024);
    const pv = new DataView(pci.buffer), v2 = new DataView(p2.buffer);
    pv.setUint32(0, STRUCTURE_TYPE.pciBusInfo, true);
    v2.setUint32(0, STRUCTURE_TYPE.physicalDeviceProperties2, true);
    v2.setBigUint64(8, address(pci), true);
    vk.vkGetPhysicalDeviceProperties2(pd, p2);
    dev.pci = {
      domain: pv.getUint32(16, true),
      bus: pv.getUint32(20, true),
      device: pv.getUint32(24, true),
      function: pv.getUint32(28, true),
    };
  }
  return dev;
}

/**
 * The Vulkan devices of this machine in the loader's order, or null where the Vulkan loader cannot be
 * opened (no libvulkan, no FFI permission) or no instance can be created (no driver).
 */
export function vulkanInventory(library = "libvulkan.so.1"): VulkanInventory | null {
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(library, SYMBOLS);
  } catch {
    return null;
  }
  try {
    const vk = lib.symbols;
    // VkApplicationInfo [48]: sType @0, pNext @8, pApplicationName @16, applicationVersion @24,
    // pEngineName @32, engineVersion @40, apiVersion @44
    const app = bytes(48);
    new DataView(app.buffer).setUint32(0, STRUCTURE_TYPE.applicationInfo, true);
    new DataView(app.buffer).setUint32(44, VK_API_VERSION_1_1, true);
    // VkInstanceCreateInfo [64]: sType @0, pNext @8, flags @16, pApplicationInfo @24, enabledLayerCount @32,
    // ppEnabledLayerNames @40, enabledExtensionCount @48, ppEnabledExtensionNames @56
    const info = bytes(64);
    const iv = new DataView(info.buffer);
    iv.setUint32(0, STRUCTURE_TYPE.instanceCreateInfo, true);
    iv.setBigUint64(24, address(app), true);
    const handle = bytes(8);
    if (vk.vkCreateInstance(info, null, handle) !== 0) return null;
    const instance = Deno.UnsafePointer.create(new DataView(handle.buffer).getBigUint64(0, true));
    try {
      const { n, out } = list(
        "vkEnumeratePhysicalDevices",
        8,
        (c, o) => vk.vkEnumeratePhysicalDevices(instance, c, o),
      );
      const ov = new DataView(out.buffer);
      const devices = Array.from(
        { length: n },
        (_, i) => describe(vk, Deno.UnsafePointer.create(ov.getBigUint64(8 * i, true)), i),
      );
      return { devices, deviceSelectLayer: layerPresent(vk, "VK_LAYER_MESA_device_select") };
    } finally {
      vk.vkDestroyInstance(instance, null);
    }
  } finally {
    lib.close();
  }
}
