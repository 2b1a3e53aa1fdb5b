/**
 * The kernel plan of one WebGPU training step, without running it: a backend whose runtime only counts
 * (`plan: true`, model/backends/webgpu/plan.ts) records the step exactly as the bench runs it (zero
 * gradients, forward + backward with dropout, grouped BertAdam on every tensor), and the counters of the
 * second step (the first allocates) are the step's dispatches, bytes bound for reading and writing, buffer
 * clears, copies and host transfers. Used by `bench/gpu_bench.ts --plan`.
 *
 * @module
 */
import {
  namedViews,
  type PlanFigures,
  type Tensor,
  type VlpConfig,
  VlpModel,
  WebGpuBackend,
  type WebGpuOptions,
} from "@vlp/model";
import { figuresBetween } from "@vlp/model";
import { trainingBatch } from "./batches.ts";

/** The plan of one step and where it was taken. */
export interface StepPlan extends PlanFigures {
  B: number;
  L: number;
  P: number;
  /** the storage binding limit the splits were planned for (bytes) */
  maxBindingBytes: number;
  /** the kernels with the most dispatches per step, most first */
  topKernels: [string, number][];
}

/**
 * Record one training step of `config` at batch B, T text slots, P masked positions (of a `--fp16` model
 * with `fp16`), and count it.
 */
export async function planStep(
  config: VlpConfig,
  B: number,
  T: number,
  P: number,
  opts: WebGpuOptions = {},
  fp16 = false,
): Promise<StepPlan> {
  const be = await WebGpuBackend.create({ ...opts, plan: true });
  try {
    const model = new VlpModel({ config, backend: be, seed: 42, noInit: true, fp16 });
    const batch = trainingBatch(config, B, T, P);
    const m = be.alloc([model.table.total]), v = be.alloc([model.table.total]);
    const params = model.parameterViews(), grads = model.gradientViews();
    const ms = namedViews(be, model.table, m), vs = namedViews(be, model.table, v);
    const tensors = model.table.specs.map((spec) => ({
      param: params.get(spec.name)!,
      grad: grads.get(spec.name)!,
      m: ms.get(spec.name)!,
      v: vs.get(spec.name)!,
      weightDecay: spec.decay ? 0.01 : 0,
    }));
    const step = (): Tensor => {
      model.zeroGrad();
      const loss = model.forwardBackward(batch);
      be.bertAdamUpdateGroup({ tensors, lr: 1e-5 });
      return loss;
    };
    await model.readScalar(step()); // allocations, plan caches
    const before = be.rt.counter.snapshot();
    await model.readScalar(step());
    const f = figuresBetween(before, be.rt.counter.snapshot());
    const topKernels = Object.entries(f.kernels).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return {
      B,
      L: config.regions + 2 + T,
      P,
      maxBindingBytes: be.rt.maxBindingBytes,
      ...f,
      topKernels: topKernels.slice(0, 12),
    };
  } finally {
    be.destroy();
  }
}
