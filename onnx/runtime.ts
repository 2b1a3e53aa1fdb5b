/**
 * ONNX Runtime Web in Deno: choosing the execution provider, the wasm thread count, and creating sessions
 * from model bytes.
 *
 * - `wasm` (default): `onnxruntime-web`'s node build (Deno resolves the package with the `node` condition);
 *   it finds its `.wasm` file by itself and needs read permission. `threads` sets
 *   `ort.env.wasm.numThreads` (worker threads of the multi-threaded wasm build; 1 = no workers).
 * - `webgpu`: the `onnxruntime-web/webgpu` bundle with the WebGPU execution provider, which works in Deno
 *   given model bytes (not a path) when `navigator.gpu` yields an adapter. Without an adapter `webgpu` is an
 *   error and `auto` falls back to `wasm`.
 *
 * The thread count is fixed when a runtime module first initialises its wasm: a later request for another
 * count cannot take effect and is reported once on stderr.
 *
 * @module
 */
import type * as Ort from "onnxruntime-web";

/** Execution providers the engine can use. */
export type ExecutionProvider = "wasm" | "webgpu";

/** Names accepted for the execution provider option (`auto`: webgpu when an adapter exists, else wasm). */
export const EXECUTION_PROVIDERS: readonly (ExecutionProvider | "auto")[] = ["wasm", "webgpu", "auto"];

/** Options of {@linkcode loadRuntime}. */
export interface RuntimeOptions {
  /** default "wasm" */
  executionProvider?: ExecutionProvider | "auto";
  /** wasm worker threads (default: onnxruntime-web's default, min(4, ⌈cores / 2⌉)) */
  threads?: number;
  /** notes such as a fallback (default: stderr) */
  log?: (line: string) => void;
}

/** A loaded runtime module and what it runs on. */
export interface OrtRuntime {
  readonly ort: typeof Ort;
  readonly executionProvider: ExecutionProvider;
  /** The wasm thread count in effect. */
  readonly threads: number;
}

const modules = new Map<ExecutionProvider, { ort: typeof Ort; initialized: boolean }>();

/** Whether `navigator.gpu` yields an adapter (false when WebGPU is absent or fails). */
export async function hasWebGpuAdapter(): Promise<boolean> {
  try {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
    return gpu !== undefined && (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

async function importOrt(ep: ExecutionProvider): Promise<{ ort: typeof Ort; initialized: boolean }> {
  let m = modules.get(ep);
  if (!m) {
    const ort = ep === "webgpu"
      ? ((await import("onnxruntime-web/webgpu")) as unknown as typeof Ort)
      : await import("onnxruntime-web");
    m = { ort, initialized: false };
    modules.set(ep, m);
  }
  return m;
}

/** Load onnxruntime-web for an execution provider and set its thread count (see the module doc). */
export async function loadRuntime(opts: RuntimeOptions = {}): Promise<OrtRuntime> {
  const log = opts.log ?? ((l: string) => console.error(l));
  let ep = opts.executionProvider ?? "wasm";
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(ep)) {
    throw new RangeError(
      `Cannot load ONNX Runtime: execution provider "${ep}" is not one of ${EXECUTION_PROVIDERS.join(", ")}`,
    );
  }
  if (ep !== "wasm" && !(await hasWebGpuAdapter())) {
    if (ep === "webgpu") {
      throw new Error("Cannot use the webgpu execution provider: navigator.gpu gives no adapter");
    }
    log("note: no WebGPU adapter, using the wasm execution provider");
    ep = "wasm";
  }
  const chosen: ExecutionProvider = ep === "auto" ? "webgpu" : ep;
  const m = await importOrt(chosen);
  const flags = m.ort.env.wasm;
  if (opts.threads !== undefined) {
    if (!(Number.isInteger(opts.threads) && opts.threads >= 1)) {
      throw new RangeError(`Cannot load ONNX Runtime: threads ${opts.threads} must be a positive integer`);
    }
    if (!m.initialized) flags.numThreads = opts.threads;
    else if (flags.numThreads !== opts.threads) {
      log(
        `note: ONNX Runtime already runs with ${flags.numThreads} wasm threads; ${opts.threads} is ignored`,
      );
    }
  }
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return {
    ort: m.ort,
    executionProvider: chosen,
    threads: flags.numThreads ?? Math.min(4, Math.ceil(cores / 2)),
  };
}

/** Create a session from model bytes on a runtime (all graph optimisations on). */
export async function createSession(
  rt: OrtRuntime,
  bytes: Uint8Array,
  name: string,
): Promise<Ort.InferenceSession> {
  const m = modules.get(rt.executionProvider)!;
  try {
    return await rt.ort.InferenceSession.create(bytes, {
      executionProviders: [rt.executionProvider],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3, // errors only, not the warning that shape ops stay on the CPU next to WebGPU
    });
  } catch (e) {
    throw new Error(
      `Cannot create ONNX Runtime session for "${name}" (${rt.executionProvider}): ${(e as Error).message}`,
    );
  } finally {
    m.initialized = true; // the wasm (and its thread count) is set up by the first attempt
  }
}
