/**
 * Data-parallel training speed on Open MPI (train/dist/), one BLAS thread per rank:
 *
 * 1. BERT-base (V 28996, 12 layers, C 768, 100 regions) training steps of batch `--batch` per rank on the
 *    blas backend at 1 and 2 ranks: forward/backward with the gradient buckets started during the backward
 *    (25 MB, `OverlappedReducer`), the wait for the sums, BertAdam, zeroGrad; `--steps` timed steps after one
 *    warm-up. Global examples/s, and the scaling efficiency (examples/s at 2 ranks) / (2 × at 1 rank).
 * 2. The communication: seconds of the buckets' sums (first start to last completion) and of the wait after
 *    the backward; the share of all-reduce time hidden behind the backward, 1 − wait / communication, and the
 *    share of the step spent waiting, wait / step.
 * 3. `MPI_Allreduce` of a buffer of BERT-base's size alone (in place, float32, sum), through this binding's
 *    communication thread and through the same call in plain C (bench/dist_allreduce.c, built with `mpicc`
 *    when it is there): seconds per call and GB/s of the buffer.
 *
 * Usage: `deno run -A bench/dist_bench.ts [--batch 8] [--steps 2] [--record]` (starts `mpirun` itself; run it
 * alone on the machine). Progress on stderr, ONE JSON line of figures on stdout.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import { bertBaseConfig, createBackend, VlpModel } from "@vlp/model";
import { BertAdam } from "@vlp/train";
import { openWorld, underMpirun } from "../train/dist/world.ts";
import { OverlappedReducer } from "../train/dist/overlap.ts";
import { trainingBatch } from "./batches.ts";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

const Flags = z.object({
  batch: integer(1).default(8),
  steps: integer(1).default(2),
  reps: integer(1).default(3),
  ...recordFlag,
});
const CMD: Command<z.infer<typeof Flags>> = {
  name: "dist_bench",
  usage: `Usage: deno run -A bench/dist_bench.ts [--batch N] [--steps N] [--reps N] [--record]
  --batch N  examples per rank and step (default 8)
  --steps N  timed training steps after one warm-up (default 2)
  --reps N   timed all-reduce calls (default 3)
${RECORD_USAGE}`,
  flags: Flags,
};
const f = startCommand(CMD);
const log = (s: string) => console.error(s);
const ENV = {
  OMPI_ALLOW_RUN_AS_ROOT: "1",
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1",
  OMPI_MCA_rmaps_base_oversubscribe: "1",
  VLP_BLAS_THREADS: "1",
  OPENBLAS_NUM_THREADS: "1",
};

/** One rank's part (under mpirun): rank 0 prints its figures as one JSON line. */
async function rankMain(): Promise<void> {
  const world = openWorld();
  const N = world.size, B = f.batch;
  const model = new VlpModel({
    config: bertBaseConfig,
    backend: createBackend("blas", { threads: 1 }),
    seed: 1,
  });
  const opt = new BertAdam(model, { lr: 1e-5 });
  const batch = trainingBatch(bertBaseConfig, B, 21, 3, 7 + world.rank);
  model.zeroGrad();
  const steps: { s: number; wait: number; comm: number }[] = [];
  for (let i = 0; i <= f.steps; i++) {
    await world.barrier();
    const t0 = performance.now();
    const red = OverlappedReducer.create(model, world);
    model.forwardBackward(batch, { lossScale: 1 / N, onLayerGradients: red?.layerReady });
    red?.finishBackward();
    const t = red ? await red.wait() : { exposedSeconds: 0, commSeconds: 0 };
    opt.step();
    model.zeroGrad();
    const s = (performance.now() - t0) / 1000;
    if (world.rank === 0) {
      log(`  ${N} rank(s), step ${i}: ${s.toFixed(2)} s (wait ${t.exposedSeconds.toFixed(3)} s)`);
    }
    if (i > 0) steps.push({ s, wait: t.exposedSeconds, comm: t.commSeconds });
  }
  const mean = (k: "s" | "wait" | "comm") => steps.reduce((a, x) => a + x[k], 0) / steps.length;
  // the all-reduce alone, BERT-base's size
  const buf = new Float32Array(model.table.total).fill(1);
  await world.allreduceSum(buf);
  await world.barrier();
  const t0 = performance.now();
  for (let r = 0; r < f.reps; r++) await world.allreduceSum(buf);
  const callS = (performance.now() - t0) / 1000 / f.reps;
  if (world.rank === 0) {
    console.log(JSON.stringify({
      ranks: N,
      step_s: mean("s"),
      examples_per_s: (N * B) / mean("s"),
      wait_s: mean("wait"),
      comm_s: mean("comm"),
      allreduce_call_s: callS,
      elements: model.table.total,
    }));
  }
  await world.finalize();
}

async function mpirun(np: number, args: string[]): Promise<string> {
  const out = await new Deno.Command("mpirun", {
    args: ["-np", String(np), ...args],
    env: ENV,
    stderr: "inherit",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`mpirun -np ${np} ${args.join(" ")} failed (status ${out.code})`);
  return text.split("\n").at(-1)!;
}

async function cBaseline(elements: number): Promise<number | null> {
  const dir = await Deno.makeTempDir({ prefix: "vlp_dist_bench_" });
  try {
    const src = fileURLToPath(new URL("./dist_allreduce.c", import.meta.url)), exe = join(dir, "allreduce");
    const cc = await new Deno.Command("mpicc", { args: ["-O2", "-o", exe, src] }).output().catch(() => null);
    if (!cc?.success) {
      log("no mpicc (Debian package libopenmpi-dev): no plain-C baseline");
      return null;
    }
    return Number(await mpirun(2, [exe, String(elements), String(f.reps)]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (underMpirun()) {
  await rankMain();
} else {
  const self = fileURLToPath(import.meta.url);
  const args = [Deno.execPath(), "run", "-A", self, "--batch", String(f.batch), "--steps", String(f.steps)];
  args.push("--reps", String(f.reps));
  const runs = [];
  for (const np of [1, 2]) {
    log(`BERT-base, batch ${f.batch} per rank, ${np} rank(s), 1 BLAS thread each`);
    runs.push(JSON.parse(await mpirun(np, args)));
  }
  const [one, two] = runs;
  const c = await cBaseline(two.elements);
  const gb = (s: number) => (two.elements * 4) / s / 1e9;
  await reportFigures(import.meta.url, {
    bench: "dist",
    batch_per_rank: f.batch,
    examples_per_s_1: +one.examples_per_s.toFixed(3),
    examples_per_s_2: +two.examples_per_s.toFixed(3),
    scaling_efficiency_2: +(two.examples_per_s / (2 * one.examples_per_s)).toFixed(3),
    step_s_1: +one.step_s.toFixed(3),
    step_s_2: +two.step_s.toFixed(3),
    allreduce_comm_s: +two.comm_s.toFixed(4),
    allreduce_wait_s: +two.wait_s.toFixed(4),
    allreduce_hidden_share: two.comm_s > 0 ? +Math.max(0, 1 - two.wait_s / two.comm_s).toFixed(3) : null,
    step_wait_share: +(two.wait_s / two.step_s).toFixed(4),
    allreduce_elements: two.elements,
    allreduce_call_s: +two.allreduce_call_s.toFixed(4),
    allreduce_gb_per_s: +gb(two.allreduce_call_s).toFixed(3),
    c_allreduce_call_s: c === null ? null : +c.toFixed(4),
    c_allreduce_gb_per_s: c === null ? null : +gb(c).toFixed(3),
  }, f.record);
}
