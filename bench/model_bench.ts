/**
 * Model speed on the CPU: BERT-base VLP (V 28996, 12 layers, C 768, 100 regions), batch 8, L = 123
 * (1 + 100 + 1 + 20 + 1), 3 masked positions, seq2seq masks, blas backend with 2 OpenBLAS threads.
 *
 * - forward: `model.loss(batch)` (evaluation forward: region branches, encoder, MLM head and loss; no dropout)
 * - training step: `model.forwardBackward(batch)` (dropout on) + a BertAdam-equivalent update of every
 *   parameter (per-tensor clipping to norm 1, m/v moments, decoupled weight decay; written here as a plain
 *   loop, since BertAdam itself belongs to @vlp/train) + zeroGrad
 * - peak memory: the largest `Deno.memoryUsage().rss` seen
 *
 * Anchor (PyTorch 1.13 CPU, original VLP code, 2 threads, same machine type): forward 2.19 examples/s,
 * training step 0.63 examples/s.
 *
 * Under `deno bench` it registers the same calls on a small configuration instead.
 *
 * Usage: `deno run -A bench/model_bench.ts [--batch 8] [--threads 2] [--iters 3] [--backend blas] [--simd false]
 * [--record]`.
 * Prints progress on stderr and ONE JSON line of figures on stdout.
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import {
  BACKEND_NAMES,
  type BackendName,
  bertBaseConfig,
  cpuData,
  createBackend,
  parseConfig,
  VlpModel,
} from "@vlp/model";
import { trainingBatch } from "./batches.ts";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

const Flags = z.object({
  batch: integer(1).default(8),
  threads: integer(1).default(2),
  iters: integer(1).default(3),
  backend: z.enum(BACKEND_NAMES as [BackendName, ...BackendName[]]).default("blas"),
  simd: z.enum(["true", "false"]).default("true"),
  ...recordFlag,
});
const CMD: Command<z.infer<typeof Flags>> = {
  name: "bench:model",
  usage:
    `Usage: deno task bench:model [--batch B] [--threads N] [--iters N] [--backend B] [--simd false] [--record]
  --batch B      examples per step (default 8)
  --threads N    OpenBLAS threads (default 2)
  --iters N      timed iterations after one warm-up (default 3; the median is reported)
  --backend B    ${BACKEND_NAMES.join(" | ")} (default blas)
  --simd false   without the WebAssembly SIMD kernels
${RECORD_USAGE}`,
  flags: Flags,
};

const ANCHOR = { forward: 2.19, trainStep: 0.63 };

/** The script: BERT-base figures as one JSON line. */
async function main(values: z.infer<typeof Flags>): Promise<void> {
  const B = Number(values.batch), threads = Number(values.threads), iters = Number(values.iters);
  const config = bertBaseConfig;
  const T = 21, L = config.regions + 2 + T, P = 3;

  let peakRss = 0;
  const sample = () => (peakRss = Math.max(peakRss, Deno.memoryUsage().rss));

  const simd = values.simd !== "false";
  const be = createBackend(values.backend as "blas", { threads, simd });
  console.error(`backend ${be.name}, ${threads} BLAS threads, SIMD kernels ${simd}, B=${B}, L=${L}`);
  let t0 = performance.now();
  const model = new VlpModel({ config, backend: be, seed: 1 });
  console.error(`init: ${model.table.count} parameters in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  sample();

  // a batch in VLP's layout: 20 wordpieces + [SEP], seq2seq masks, 3 masked positions
  const batch = trainingBatch(config, B, T, P);

  /** BertAdam's arithmetic over every tensor of the flat buffers (lr constant, no schedule). */
  function adamUpdate(m: Float32Array, v: Float32Array, lr: number): void {
    const p = cpuData(model.params) as Float32Array, g = cpuData(model.grads) as Float32Array;
    for (const s of model.table.specs) {
      const o = s.offset, e = o + s.size;
      let norm = 0;
      for (let i = o; i < e; i++) norm += g[i] * g[i];
      norm = Math.sqrt(norm);
      const clip = norm > 1 ? 1 / norm : 1, wd = s.decay ? 0.01 : 0;
      for (let i = o; i < e; i++) {
        const gi = g[i] * clip;
        m[i] = 0.9 * m[i] + 0.1 * gi;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        p[i] -= lr * (m[i] / (Math.sqrt(v[i]) + 1e-6) + wd * p[i]);
      }
    }
  }

  async function time(name: string, n: number, fn: () => Promise<void>): Promise<number[]> {
    await fn(); // warm-up (allocates the activation buffers)
    sample();
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await fn();
      out.push((performance.now() - t) / 1000);
      sample();
      console.error(`${name} ${i + 1}/${n}: ${out[i].toFixed(2)} s (${(B / out[i]).toFixed(2)} examples/s)`);
    }
    return out;
  }

  const fwd = await time("forward", iters, async () => {
    await model.readScalar(model.loss(batch));
  });
  const m = new Float32Array(model.table.total), v = new Float32Array(model.table.total);
  model.zeroGrad();
  const step = await time("training step", iters, async () => {
    await model.readScalar(model.forwardBackward(batch));
    adamUpdate(m, v, 1e-5);
    model.zeroGrad();
  });
  t0 = performance.now();
  adamUpdate(m, v, 1e-5);
  const updateS = (performance.now() - t0) / 1000;

  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const fwdEx = B / median(fwd), stepEx = B / median(step);
  console.error(
    `forward ${fwdEx.toFixed(2)} ex/s (anchor ${ANCHOR.forward}, ${(fwdEx / ANCHOR.forward).toFixed(2)}x); ` +
      `training step ${stepEx.toFixed(2)} ex/s (anchor ${ANCHOR.trainStep}, ${
        (stepEx / ANCHOR.trainStep).toFixed(2)
      }x); ` +
      `peak RSS ${(peakRss / 2 ** 30).toFixed(2)} GiB`,
  );
  await reportFigures(import.meta.url, {
    bench: "model",
    backend: be.name,
    threads,
    simd,
    config: "bert-base",
    batch: B,
    seqLen: L,
    forwardExamplesPerS: +fwdEx.toFixed(3),
    forwardSeconds: fwd.map((x) => +x.toFixed(3)),
    trainStepExamplesPerS: +stepEx.toFixed(3),
    trainStepSeconds: step.map((x) => +x.toFixed(3)),
    updateSeconds: +updateS.toFixed(3),
    peakRssGiB: +(peakRss / 2 ** 30).toFixed(3),
    anchor: ANCHOR,
    forwardRatio: +(fwdEx / ANCHOR.forward).toFixed(3),
    trainStepRatio: +(stepEx / ANCHOR.trainStep).toFixed(3),
  }, values.record);
}

if (import.meta.main) {
  await main(startCommand(CMD));
} else {
  // under `deno bench`: the same calls on a small configuration, so that the suite stays quick
  const config = parseConfig({
    hiddenSize: 64,
    numLayers: 2,
    numHeads: 4,
    intermediateSize: 256,
    vocabSize: 1000,
    regions: 10,
    regionFeatureSize: 128,
    regionHiddenSize: 128,
    regionGeometrySize: 32,
  });
  const be = createBackend("blas", { threads: 1 });
  const model = new VlpModel({ config, backend: be, seed: 1 });
  const batch = trainingBatch(config, 4, 8, 2, 1);
  model.zeroGrad();
  Deno.bench({ name: "small model forward (loss)", group: "model", baseline: true }, async () => {
    await model.readScalar(model.loss(batch));
  });
  Deno.bench({ name: "small model forward + backward", group: "model" }, async () => {
    await model.readScalar(model.forwardBackward(batch));
  });
}
