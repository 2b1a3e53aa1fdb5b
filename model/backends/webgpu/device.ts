/**
 * WebGPU adapter and device acquisition.
 *
 * - The device is requested with every limit raised to what the adapter offers (the defaults allow only
 *   128 MiB per storage binding, 256 MiB per buffer and 16 KiB of workgroup memory).
 * - `shader-f16` is requested when the adapter has it (float16 GEMM inputs).
 * - Without `navigator.gpu` or without an adapter, {@linkcode NoAdapterError} says what to install.
 *
 * @example Usage
 * ```ts ignore
 * import { requestGpu } from "./device.ts";
 * const { device, adapterName } = await requestGpu();
 * console.log(adapterName, device.limits.maxStorageBufferBindingSize);
 * ```
 *
 * @module
 */

/** Thrown when no WebGPU adapter can be obtained. */
export class NoAdapterError extends Error {
  override name = "NoAdapterError";
}

/** Limits this backend uses, requested at the adapter's values. */
const CORE_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
  "maxDynamicUniformBuffersPerPipelineLayout",
  "maxBindingsPerBindGroup",
] as const;

/** An acquired device and what we know of its adapter. */
export interface Gpu {
  device: GPUDevice;
  /** e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits)" */
  adapterName: string;
  /** the adapter is a software fallback (lavapipe, SwiftShader) */
  isFallback: boolean;
  /** `shader-f16` was enabled */
  f16: boolean;
  /** every feature the adapter offers (e.g. `subgroups`, `shader-f16`), sorted */
  features: string[];
  /** the adapter's subgroup sizes [min, max] where its info gives them (null otherwise) */
  subgroupSizes: [number, number] | null;
}

const INSTALL_HINT =
  "install a Vulkan driver (Debian: apt-get install mesa-vulkan-drivers libvulkan1 gives the " +
  "lavapipe software adapter; on an NVIDIA machine the driver's Vulkan ICD), or check DENO_WEBGPU_BACKEND " +
  "(it must not be set to an empty string)";

/**
 * Request an adapter and a device with raised limits (throws {@linkcode NoAdapterError} when there is none).
 * `gpu` replaces `navigator.gpu` (tests).
 */
export async function requestGpu(
  opts: { powerPreference?: GPUPowerPreference; gpu?: GPU | null } = {},
): Promise<Gpu> {
  const gpu = opts.gpu !== undefined
    ? opts.gpu // a Worker's navigator is a WorkerNavigator: read `gpu` through a structural type that fits both
    : (globalThis.navigator as unknown as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) {
    throw new NoAdapterError(
      `Cannot open the WebGPU backend: navigator.gpu is not available; ${INSTALL_HINT}`,
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? "high-performance" });
  if (!adapter) {
    throw new NoAdapterError(`Cannot open the WebGPU backend: no WebGPU adapter was found; ${INSTALL_HINT}`);
  }
  const f16 = adapter.features.has("shader-f16");
  const requiredFeatures: GPUFeatureName[] = f16 ? ["shader-f16"] : [];
  const all: Record<string, number> = {};
  const limits = adapter.limits as unknown as Record<string, unknown>;
  for (const key in adapter.limits) {
    const v = limits[key];
    if (typeof v === "number") all[key] = v;
  }
  const core: Record<string, number> = {};
  for (const key of CORE_LIMITS) if (typeof limits[key] === "number") core[key] = limits[key] as number;
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits: all });
  } catch {
    // some implementations reject limits they list but do not know; the ones we use are enough
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits: core });
  }
  const info = adapter.info;
  return {
    device,
    adapterName: info.description || info.device || info.vendor || "unknown adapter",
    isFallback: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    f16,
    features: [...adapter.features].map(String).sort(),
    subgroupSizes: subgroupSizes(info),
  };
}

/** [subgroupMinSize, subgroupMaxSize] of an adapter's info, when it has both. */
function subgroupSizes(info: GPUAdapterInfo): [number, number] | null {
  const i = info as GPUAdapterInfo & { subgroupMinSize?: unknown; subgroupMaxSize?: unknown };
  return typeof i.subgroupMinSize === "number" && typeof i.subgroupMaxSize === "number"
    ? [i.subgroupMinSize, i.subgroupMaxSize]
    : null;
}

/** Whether `VLP_REQUIRE_GPU=1` is set (tests then fail instead of skipping without an adapter). */
export function gpuRequired(): boolean {
  try {
    return Deno.env.get("VLP_REQUIRE_GPU") === "1";
  } catch {
    return false;
  }
}
