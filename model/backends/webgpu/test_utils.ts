/**
 * Test helpers of the WebGPU backend: a shared backend (or the reason there is none), a `Deno.test` wrapper
 * that skips without an adapter unless `VLP_REQUIRE_GPU=1`, and {@linkcode twin}, which runs one operation
 * on the reference backend (float32, the plain TypeScript twin of every kernel) and on the GPU with the same
 * inputs and compares the named outputs; {@linkcode kernelsDispatched} says which kernels an operation ran.
 *
 * @module
 */
import { assertClose } from "@vlp/testing";
import type { Backend, DType, HostArray, Tensor } from "../../backend.ts";
import { ReferenceBackend } from "../reference.ts";
import { WebGpuBackend, type WebGpuOptions } from "./backend.ts";
import { gpuRequired } from "./device.ts";

let opened: Promise<WebGpuBackend | Error> | null = null;

/** The shared backend of a test file, or the error that prevented it. */
export function sharedGpu(): Promise<WebGpuBackend | Error> {
  opened ??= WebGpuBackend.create().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  return opened;
}

/** Open a backend with options (tests of limits); throws when none can be opened. */
export function openGpu(opts: WebGpuOptions): Promise<WebGpuBackend> {
  return WebGpuBackend.create(opts);
}

const first = await sharedGpu();

/** True when no adapter is available and `VLP_REQUIRE_GPU` is not set: GPU tests are skipped. */
export const noAdapter: boolean = first instanceof Error && !gpuRequired();

/** A GPU test: skipped without an adapter (unless VLP_REQUIRE_GPU=1, then it fails with the reason). */
export function gpuTest(name: string, fn: (gpu: WebGpuBackend) => Promise<void> | void): void {
  Deno.test({
    name,
    ignore: noAdapter,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const gpu = await sharedGpu();
      if (gpu instanceof Error) throw gpu;
      await fn(gpu);
    },
  });
}

/** A host input: values with a shape (float unless dtype says int32), or a shape for a zero tensor. */
export type TwinInput = { shape: readonly number[]; data?: ArrayLike<number>; dtype?: DType };

/** Tolerance per output name. */
export type TwinTolerance = Record<string, { atol?: number; rtol?: number }>;

/**
 * Run `op` on the float32 reference backend and on `gpu` with the same inputs; assert that every output
 * named in `tol` agrees within its tolerance; return both results.
 */
export async function twin(
  gpu: Backend,
  inputs: Record<string, TwinInput>,
  op: (be: Backend, t: Record<string, Tensor>) => void,
  tol: TwinTolerance,
  label = "",
): Promise<Record<string, [HostArray, HostArray]>> {
  const run = async (be: Backend) => {
    const ts: Record<string, Tensor> = {};
    for (const [name, inp] of Object.entries(inputs)) {
      ts[name] = be.alloc(inp.shape, inp.dtype ?? "float");
      if (inp.data) be.write(ts[name], inp.data);
    }
    op(be, ts);
    const out: Record<string, HostArray> = {};
    for (const name of Object.keys(tol)) out[name] = await be.read(ts[name]);
    for (const t of Object.values(ts)) be.free(t);
    return out;
  };
  const ref = await run(new ReferenceBackend());
  const got = await run(gpu);
  const res: Record<string, [HostArray, HostArray]> = {};
  for (const [name, t] of Object.entries(tol)) {
    assertClose(got[name], ref[name], {
      atol: t.atol ?? 1e-6,
      rtol: t.rtol ?? 1e-6,
      shape: inputs[name].shape,
      name: `${label}${label ? " " : ""}${name}`,
    });
    res[name] = [got[name], ref[name]];
  }
  return res;
}

/** The kernels `run` dispatched on `be`, each with its number of dispatches (the runtime's plan counter). */
export async function kernelsDispatched(
  be: WebGpuBackend,
  run: () => void | Promise<void>,
): Promise<Record<string, number>> {
  const before = be.rt.counter.snapshot().kernels;
  await run();
  const ran: Record<string, number> = {};
  for (const [name, c] of Object.entries(be.rt.counter.snapshot().kernels)) {
    if (c !== (before[name] ?? 0)) ran[name] = c - (before[name] ?? 0);
  }
  return ran;
}
