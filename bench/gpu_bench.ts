/**
 * WebGPU speed: GEMM TFLOP/s at BERT-base shapes (float32, and float16 inputs when the adapter has
 * `shader-f16`) and BERT-base training-step examples/s (batch 64, L = 123 = 1 + 100 + 1 + 20 + 1, 3 masked
 * positions, seq2seq masks, dropout on, forward + backward + BertAdam on every parameter tensor).
 *
 * The targets are ratios against the original on the same GPU (`GPU_TARGETS` of bench/gpu_ratios.ts: the
 * step ≥ 1.3x the original's PyTorch float32 step, the GEMM ≥ 0.85x cuBLAS float32); this bench gives our
 * side, bench/gpu_anchor.py the original's, and `bench/gpu_check.sh` runs both and prints the ratios.
 *
 * GEMM times are slopes (bench/gemm_sweep.ts): the time of 4N dispatches minus that of N, over 3N, each batch
 * closed by one `sync()`, so that the fixed cost of a synchronisation (a buffer mapping: large under some
 * virtualised drivers) does not count as GEMM time; that fixed cost is reported as `syncMs`.
 *
 * Tiles: the GEMMs run on the tile table (model's ops/gemm_table.ts) of `--tiles FILE` (a record of an
 * earlier `--sweep`), else of the record `VLP_GEMM_TILES` names, else the default table. `--sweep` first times every tile of `GEMM_TILES` on every
 * product of a BERT-base step (forward, dX and dW of each Linear, the batched attention products) and with
 * vec4 loads off, then runs everything else on the table of the fastest tile per shape, which goes into the
 * record as `gemmTable` (per-tile figures under `gemmSweep`); the step is also timed on the default table
 * (`trainDefaultTable`). The record names the adapter's features (`subgroups`, `shader-f16`, ...), its
 * subgroup sizes and the limits a GEMM depends on (`adapterInfo`).
 *
 * `trainUnfused` is the same step with the backend's fused kernels off (`fuse: false`: their unfused twins),
 * `trainUnpaired` with each Linear's two backward GEMMs in two dispatches (`gemmPair: false`),
 * `trainFp16` the step of a `--fp16` model (float16 GEMM weights; adapters with shader-f16).
 * `trainFp16HalfMath` and `gemmF16Math` are that step and the float16 GEMMs with float16 math (backend
 * option `gemmHalfMath`: float16 tiles and K-tile sums).
 *
 * `--plan` times nothing: it prints the kernel plan of one training step at the same sizes (dispatches,
 * bytes bound for reading and writing, clears, copies, the most dispatched kernels; bench/gpu_plan.ts),
 * counted by a runtime that records without running, so it works on any adapter, a software one included.
 *
 * Usage: `deno run -A bench/gpu_bench.ts [--quick] [--plan] [--sweep] [--tiles FILE] [--steps N] [--seconds S]
 * [--sweep-seconds S] [--allow-fallback] [--record]`.
 * `--quick` uses tiny shapes (`smallConfig` of @vlp/testing: C 32, 2 layers, V 300, 6 regions; batch 2) so that the script
 * can be checked on a software
 * adapter; a software (fallback) adapter is refused without `--quick` or `--allow-fallback`, since its
 * figures would say nothing about a GPU. Progress goes to stderr; the last stdout line is ONE JSON object.
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, number, startCommand } from "@vlp/command";
import {
  bertBaseConfig,
  DEFAULT_GEMM_TABLE,
  figuresBetween,
  type GemmTable,
  gemmTableFromFile,
  namedViews,
  type Tensor,
  VlpModel,
  WebGpuBackend,
} from "@vlp/model";
import {
  type GemmFigure,
  type GemmShape,
  type GemmSweep,
  sweepGemmTiles,
  sweepShapes,
  syncMs,
  timeGemm,
} from "./gemm_sweep.ts";
import { smallConfig } from "@vlp/testing";
import { trainingBatch } from "./batches.ts";
import { planStep } from "./gpu_plan.ts";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";
import { GPU_TARGETS } from "./gpu_ratios.ts";

const Flags = z.object({
  quick: z.boolean().default(false),
  plan: z.boolean().default(false),
  fp16: z.boolean().default(false),
  sweep: z.boolean().default(false),
  tiles: z.string().optional(),
  "sweep-seconds": number().min(0, "must be ≥ 0").optional(),
  "allow-fallback": z.boolean().default(false),
  steps: integer(1).optional(),
  seconds: number().min(0, "must be ≥ 0").optional(),
  ...recordFlag,
});
const CMD: Command<z.infer<typeof Flags>> = {
  name: "gpu_bench",
  usage: `Usage: deno run -A bench/gpu_bench.ts [--quick] [--plan] [--sweep] [--tiles FILE] [--steps N]
                                [--seconds S] [--sweep-seconds S] [--allow-fallback] [--record]
  --quick           tiny shapes, to check the script on a software adapter
  --plan            no timing: the training step's dispatches and bytes from its kernel plan
  --fp16            with --plan: the plan of a --fp16 model's step
  --sweep           first time every GEMM tile on every product of a step, then run on the fastest
  --tiles FILE      the GEMM tile table of a record of an earlier --sweep (default: the built-in table)
  --steps N         training steps timed (default 10; 2 with --quick)
  --seconds S       least time per GEMM measurement (default 1; 0 with --quick)
  --sweep-seconds S least time per measurement of the sweep (default 0.2; 0 with --quick)
  --allow-fallback  run on a software (fallback) adapter without --quick
${RECORD_USAGE}`,
  flags: Flags,
};
const values = startCommand(CMD);
const quick = values.quick;
const steps = values.steps ?? (quick ? 2 : 10);
const minSeconds = values.seconds ?? (quick ? 0 : 1);
const sweepSeconds = values["sweep-seconds"] ?? (quick ? 0 : 0.2);

/**
 * The tile table of `--tiles FILE`, else of `VLP_GEMM_TILES`, else the default (exit 1 naming the file when it
 * cannot be read or holds none).
 */
function tilesOf(file: string | undefined): GemmTable {
  if (!file) return DEFAULT_GEMM_TABLE;
  try {
    return gemmTableFromFile(file);
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
const givenTable = tilesOf(values.tiles ?? (Deno.env.get("VLP_GEMM_TILES") || undefined));

// the step's shape: batch 64, L = 100 regions + 2 + 21 text slots = 123, 3 masked positions
const config = quick ? smallConfig : bertBaseConfig;
const [B, T, P] = quick ? [2, 9, 3] : [64, 21, 3];
const L = config.regions + 2 + T;

if (values.plan) {
  const plan = await planStep(config, B, T, P, {}, values.fp16);
  console.error(
    `plan of one ${quick ? "small" : "BERT-base"} training step (B=${B}, L=${L}): ${plan.dispatches} ` +
      `dispatches, ${(plan.bytesRead / 2 ** 30).toFixed(2)} GiB read, ${
        (plan.bytesWritten / 2 ** 30).toFixed(2)
      } GiB written, ${plan.clears} clears`,
  );
  // a record goes to bench/results/gpu_plan.json (not over the timed record)
  const planUrl = new URL("./gpu_plan.ts", import.meta.url).href;
  await reportFigures(
    planUrl,
    { bench: "gpu_plan", config: quick ? "small" : "bert-base", quick, fp16: values.fp16, plan },
    values.record,
  );
  Deno.exit(0);
}

// ---- the tile sweep (first: everything below runs on its table) -----------------------------------------

let sweep: GemmSweep | null = null;
if (values.sweep) {
  const probe = await WebGpuBackend.create();
  const source = `${probe.adapterName}, bench/gpu_bench.ts --sweep, ${new Date().toISOString().slice(0, 10)}`;
  const refused = probe.rt.gpu.isFallback && !quick && !values["allow-fallback"];
  probe.destroy();
  if (!refused) sweep = await sweepGemmTiles(sweepShapes(quick), { minSeconds: sweepSeconds, quick, source });
}
const gemmTable = sweep?.table ?? givenTable;

const be = await WebGpuBackend.create({ gemmTable });
const fallback = be.rt.gpu.isFallback;
// what a faster GEMM could use (subgroups, cooperative or subgroup matrices) and the limits it depends on
const lim = be.rt.device.limits;
const adapterInfo = {
  name: be.adapterName,
  features: be.rt.gpu.features,
  subgroupSizes: be.rt.gpu.subgroupSizes,
  limits: {
    maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: lim.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupsPerDimension: lim.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
    minStorageBufferOffsetAlignment: lim.minStorageBufferOffsetAlignment,
  },
};
console.error(
  `adapter: ${be.adapterName}${fallback ? " (software fallback)" : ""}, shader-f16: ${be.hasF16}, ` +
    `features: ${adapterInfo.features.join(" ")}, subgroup sizes: ${adapterInfo.subgroupSizes ?? "?"}, ` +
    `workgroup memory: ${adapterInfo.limits.maxComputeWorkgroupStorageSize} bytes; GEMM tiles: ${gemmTable.source}`,
);
if (fallback && !quick && !values["allow-fallback"]) {
  console.error("error: the adapter is a software fallback; use --quick (or --allow-fallback) to run anyway");
  Deno.exit(1);
}

// ---- GEMMs --------------------------------------------------------------------------------------------

/** BERT-base GEMMs of one training step at B·L = 64·123 rows (C 768, I 3072, NH 12, HS 64). */
function gemmShapes(): GemmShape[] {
  const [BL, C, I, BNH, L, HS] = quick ? [64, 64, 256, 4, 17, 16] : [64 * 123, 768, 3072, 64 * 12, 123, 64];
  return [
    { name: "qkv", m: BL, n: 3 * C, k: C, transB: true, bias: true },
    { name: "attn_out", m: BL, n: C, k: C, transB: true, bias: true },
    { name: "fc1", m: BL, n: I, k: C, transB: true, bias: true },
    { name: "fc2", m: BL, n: C, k: I, transB: true, bias: true },
    { name: "fc1_dx", m: BL, n: C, k: I },
    { name: "fc1_dw", m: I, n: C, k: BL, transA: true },
    { name: "scores", m: L, n: L, k: HS, transB: true, batch: BNH },
    { name: "context", m: L, n: HS, k: L, batch: BNH },
  ];
}

const sync = await syncMs(be);
console.error(`one sync with no work: ${sync.toFixed(3)} ms`);
const gemm: Record<string, GemmFigure> = {};
for (const s of gemmShapes()) gemm[s.name] = await timeGemm(be, s, { minSeconds, quick });
const gemmF16: Record<string, GemmFigure> = {};
// the same with float16 math (backend option gemmHalfMath: float16 tiles and K-tile sums, float32 running sums)
const gemmF16Math: Record<string, GemmFigure> = {};
const halfBe = be.hasF16 ? await WebGpuBackend.create({ gemmTable, gemmHalfMath: true }) : null;
if (halfBe) {
  for (const s of gemmShapes().filter((x) => x.name.startsWith("fc"))) {
    gemmF16[s.name] = await timeGemm(be, s, { f16: true, minSeconds, quick });
    gemmF16Math[s.name] = await timeGemm(halfBe, s, { f16: true, minSeconds, quick, label: "float16 math " });
  }
}

// ---- training step ------------------------------------------------------------------------------------

const batch = trainingBatch(config, B, T, P);

/**
 * Training-step figures on `be`: one warm-up step (pipeline compilation, allocation), then `n` steps.
 * `update`: BertAdam through `bertAdamUpdateGroup` (as the trainer does), one `bertAdamUpdate` per tensor,
 * or none (forward + backward only).
 */
async function trainRun(
  be: WebGpuBackend,
  n: number,
  update: "group" | "per-tensor" | "none" = "group",
  fp16 = false,
) {
  console.error(
    `training step: ${quick ? "small" : "BERT-base"} config, B=${B}, L=${L}, P=${P}, BertAdam: ${update}`,
  );
  const model = new VlpModel({ config, backend: be, seed: 42, fp16 });
  const m = be.alloc([model.table.total]), v = be.alloc([model.table.total]);
  const params = model.parameterViews(), grads = model.gradientViews();
  const ms = namedViews(be, model.table, m), vs = namedViews(be, model.table, v);

  /** One step: zero gradients, forward + backward (dropout on), BertAdam on every tensor; the loss. */
  const step = (): Tensor => {
    model.zeroGrad();
    const loss = model.forwardBackward(batch);
    const tensors = model.table.specs.map((spec) => ({
      param: params.get(spec.name)!,
      grad: grads.get(spec.name)!,
      m: ms.get(spec.name)!,
      v: vs.get(spec.name)!,
      weightDecay: spec.decay ? 0.01 : 0,
    }));
    if (update === "group") be.bertAdamUpdateGroup({ tensors, lr: 1e-5 });
    if (update === "per-tensor") { for (const t of tensors) be.bertAdamUpdate({ ...t, lr: 1e-5 }); }
    return loss;
  };

  let t0 = performance.now();
  const firstLoss = await model.readScalar(step());
  console.error(
    `warm-up step: ${((performance.now() - t0) / 1000).toFixed(2)} s, loss ${firstLoss.toFixed(4)}`,
  );
  const d0 = be.rt.dispatchCount, c0 = be.rt.counter.snapshot();
  t0 = performance.now();
  let loss: Tensor | null = null;
  let recordMs = 0; // host time spent recording (and submitting) the steps' work
  for (let i = 0; i < n; i++) {
    const r0 = performance.now();
    loss = step();
    recordMs += performance.now() - r0;
  }
  const lastLoss = await model.readScalar(loss!);
  const secs = (performance.now() - t0) / 1000;
  const train = {
    config: quick ? "small" : "bert-base",
    update,
    B,
    L,
    P,
    steps: n,
    msPerStep: (secs * 1000) / n,
    recordMsPerStep: recordMs / n,
    examplesPerSec: (B * n) / secs,
    dispatchesPerStep: (be.rt.dispatchCount - d0) / n,
    clearsPerStep: figuresBetween(c0, be.rt.counter.snapshot(), n).clears,
    gpuMiB: Math.round(be.rt.allocatedBytes / 2 ** 20),
    firstLoss,
    lastLoss,
  };
  console.error(
    `training: ${train.msPerStep.toFixed(1)} ms/step, ${train.examplesPerSec.toFixed(2)} examples/s, ` +
      `${train.recordMsPerStep.toFixed(1)} ms/step recording, ${train.dispatchesPerStep} dispatches/step, ` +
      `${train.gpuMiB} MiB on the GPU`,
  );
  for (const t of [m, v]) be.free(t);
  return train;
}

const train = await trainRun(be, steps);
// where the step's time goes: the optimiser one tensor at a time, and no optimiser at all
const trainPerTensor = await trainRun(be, Math.max(2, Math.ceil(steps / 2)), "per-tensor");
const trainNoUpdate = await trainRun(be, Math.max(2, Math.ceil(steps / 2)), "none");
// the same step without the fused kernels (their unfused twins; backend option fuse: false), side by side
const unfusedBe = await WebGpuBackend.create({ fuse: false, gemmTable });
const trainUnfused = await trainRun(unfusedBe, Math.max(2, Math.ceil(steps / 2)));
unfusedBe.destroy();
// the step with each Linear's dX and dW GEMMs in two dispatches rather than one pair (gemmPair: false)
const unpairedBe = await WebGpuBackend.create({ gemmPair: false, gemmTable });
const trainUnpaired = await trainRun(unpairedBe, Math.max(2, Math.ceil(steps / 2)));
unpairedBe.destroy();
// --fp16's step: float16 GEMM weights cast from the float32 masters at the start of each forward
const trainFp16 = be.hasF16 ? await trainRun(be, Math.max(2, Math.ceil(steps / 2)), "group", true) : null;
// and with float16 math in its GEMMs (VLP_GEMM_HALF_MATH=1 for every command)
const trainFp16HalfMath = halfBe
  ? await trainRun(halfBe, Math.max(2, Math.ceil(steps / 2)), "group", true)
  : null;
halfBe?.destroy();

// the step on the default table, beside the sweep's
let trainDefaultTable: Awaited<ReturnType<typeof trainRun>> | null = null;
if (sweep) {
  const dbe = await WebGpuBackend.create({ gemmTable: DEFAULT_GEMM_TABLE });
  trainDefaultTable = await trainRun(dbe, Math.max(2, Math.ceil(steps / 2)));
  dbe.destroy();
}

const best = Math.max(...Object.values(gemm).map((g) => g.tflops));
await reportFigures(import.meta.url, {
  bench: "gpu",
  adapter: be.adapterName,
  fallback,
  shaderF16: be.hasF16,
  adapterFeatures: adapterInfo.features,
  adapterInfo,
  gemmTable,
  quick,
  gemm,
  gemmF16,
  gemmF16Math,
  bestGemmTflopsF32: best,
  syncMs: sync,
  train,
  trainPerTensor,
  trainNoUpdate,
  trainUnfused,
  trainUnpaired,
  trainFp16,
  trainFp16HalfMath,
  ...(sweep
    ? { gemmSweep: { tflops: sweep.tflops, scalarLoads: sweep.scalarLoads, seconds: sweep.seconds } }
    : {}),
  trainDefaultTable,
  targets: GPU_TARGETS,
}, values.record);
be.destroy();
