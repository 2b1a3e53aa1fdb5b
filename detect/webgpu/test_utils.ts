/**
 * The WebGPU backend for detect's tests: opened once; without an adapter the tests are skipped, unless
 * `VLP_REQUIRE_GPU=1` (CI with lavapipe), where they fail.
 */
import { WebGpuBackend } from "@vlp/model";

const opened = await WebGpuBackend.create().catch((
  e: unknown,
) => (e instanceof Error ? e : new Error(String(e))));
const required = Deno.env.get("VLP_REQUIRE_GPU") === "1";

/** The shared backend, or null when there is no adapter (and none is required). */
export function testGpu(): WebGpuBackend | null {
  if (opened instanceof Error) {
    if (required) throw opened;
    return null;
  }
  return opened;
}

/** Deno.test options for a test that needs the GPU (skipped without one). */
export function gpuTestOptions(): { ignore: boolean; sanitizeOps: false; sanitizeResources: false } {
  return { ignore: !required && opened instanceof Error, sanitizeOps: false, sanitizeResources: false };
}
