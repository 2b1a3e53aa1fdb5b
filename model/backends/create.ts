/**
 * Backend selection by name, with the OpenBLAS fallback policy: if `blas` is asked for and the library
 * cannot be loaded, a warning is printed once (stderr) and the reference backend is returned, unless the
 * environment sets `VLP_REQUIRE_BLAS=1` (CI does), in which case it is an error.
 *
 * @example Usage
 * ```ts
 * import { createBackend } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const be = createBackend("reference");
 * assert.equal(be.floatType, "float32");
 * assert.equal(createBackend("reference64").floatType, "float64");
 * ```
 *
 * @module
 */
import type { Backend } from "../backend.ts";
import { ReferenceBackend } from "./reference.ts";
import { BlasBackend, type BlasOptions } from "./blas.ts";
import { loadOpenBlas } from "./openblas.ts";
import { WebGpuBackend, type WebGpuOptions } from "./webgpu/backend.ts";

/** Names accepted by {@linkcode openBackend} (all) and {@linkcode createBackend} (all but `webgpu`). */
export type BackendName = "reference" | "reference64" | "blas" | "webgpu";

/** Every name {@linkcode openBackend} accepts. */
export const BACKEND_NAMES: readonly BackendName[] = ["reference", "reference64", "blas", "webgpu"];

let warned = false;

/** Whether `VLP_REQUIRE_BLAS=1` is set (a missing OpenBLAS is then an error). */
export function blasRequired(): boolean {
  try {
    return Deno.env.get("VLP_REQUIRE_BLAS") === "1";
  } catch {
    return false;
  }
}

/**
 * A backend by name. `blas` falls back to `reference` (with one warning) when OpenBLAS is missing, unless
 * `VLP_REQUIRE_BLAS=1`. `threads` sets the OpenBLAS thread count (default `VLP_BLAS_THREADS`); `simd: false`
 * keeps GELU, softmax and dropout in plain TypeScript.
 */
export function createBackend(name: BackendName = "blas", opts: BlasOptions = {}): Backend {
  switch (name) {
    case "reference":
      return new ReferenceBackend();
    case "reference64":
      return new ReferenceBackend({ precision: "float64" });
    case "blas": {
      const be = BlasBackend.tryCreate(opts);
      if (be) return be;
      const why = loadOpenBlas().error;
      if (blasRequired()) {
        throw new Error(
          `Cannot create the blas backend: OpenBLAS could not be loaded (${why}); VLP_REQUIRE_BLAS=1`,
        );
      }
      if (!warned) {
        warned = true;
        console.error(
          `warning: OpenBLAS could not be loaded (${why}); using the reference backend. ` +
            `Install it with: apt-get install libopenblas0-pthread`,
        );
      }
      return new ReferenceBackend();
    }
    case "webgpu":
      throw new TypeError(
        'Cannot create the webgpu backend synchronously (adapter and device requests are asynchronous): use `await openBackend("webgpu")`',
      );
    default:
      throw new RangeError(`Cannot create backend "${name}": expected one of ${BACKEND_NAMES.join(", ")}`);
  }
}

/**
 * A backend by name, including `webgpu` (whose adapter and device requests are asynchronous; without an
 * adapter it throws `NoAdapterError` with install hints). Other names behave as in {@linkcode createBackend}.
 */
export async function openBackend(
  name: BackendName = "blas",
  opts: { threads?: number; webgpu?: WebGpuOptions } = {},
): Promise<Backend> {
  if (name === "webgpu") return await WebGpuBackend.create(opts.webgpu);
  return createBackend(name, opts);
}
