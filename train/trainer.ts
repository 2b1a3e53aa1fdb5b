/**
 * The training loop of `run_img2txt_dist.py` (spec 8), resumable:
 *
 *   for epoch in start..epochs:
 *     for each batch (micro-batch of train_batch_size / accumulation examples):
 *       loss = step(batch)                       masked LM / VQA BCE (or SCST), gradients += ∂loss/accumulation
 *       stop if loss is NaN/Inf (naming epoch, batch and its examples)
 *       every `accumulation` batches of the epoch: BertAdam update, zero the gradients
 *     write model.{epoch}.bin and optim.{epoch}.npz (atomic), validate, redraw train_curve.svg
 *
 * Step counting is the original's: the update test is `(batch + 1) % accumulation == 0` with the batch
 * index restarting every epoch, so the gradients of an epoch's last micro-batches (when `accumulation`
 * does not divide the batches of an epoch) carry over into the next epoch's first update; they are saved
 * with the checkpoint. Drop-worst applies from epoch `dropAfter + 1` on. The reported loss is the batch loss
 * before the division by `accumulation`, as the original logs it.
 *
 * Resuming: given a checkpoint to continue from ({@linkcode TrainOptions.resumeFrom}, which output_folder.ts
 * chooses and checks), it is loaded (model, BertAdam moments and step, pending gradients, RNG states), the
 * JSONL log is cut back to that epoch, and training continues with the next epoch. Batches are a pure function of
 * (seed, epoch, index) (loader.ts) and dropout seeds come from the model's saved RNG, so the resumed run's
 * losses are exactly those of an uninterrupted run. The run settings that shape the trajectory must match
 * the checkpoint's ({@linkcode TrainOptions.settings}).
 *
 * Files in the output folder: `opt.json` (the settings), `train_log.jsonl`, `model.{epoch}.bin`,
 * `optim.{epoch}.npz`, `train_curve.svg`.
 *
 * Across ranks ({@linkcode TrainOptions.world}, dist/data_parallel.ts): rank r takes the epoch's
 * micro-batches r, r + N, …; after each round of N micro-batches every rank knows every rank's loss, loss
 * scale and logged values (one small all-reduce; the scales must agree), and where the single process would update, the gradients are summed over the ranks
 * (the loss scale is 1 / (N · accumulation); the buckets start during the last micro-batch's backward,
 * dist/overlap.ts) and every rank runs BertAdam. Rank 0 alone writes the folder's files; every rank takes
 * part in `validate` (which shares the work, validation.ts); all meet at a barrier after each checkpoint.
 * The ranks' weights are compared every `checkWeightsEvery` updates and before each checkpoint.
 *
 * @module
 */
import { join } from "node:path";
import { writeTextAtomic } from "@vlp/io";
import { loadCheckpoint, type Rng, type VlpModel } from "@vlp/model";
import type { BertAdam } from "./bert_adam.ts";
import {
  advanceRng,
  allreduceGradients,
  broadcastParameters,
  checkScalesAgree,
  checkWeightsAgree,
  drawsBetween,
  gatherRows,
  rankBatches,
} from "./dist/data_parallel.ts";
import { OverlappedReducer } from "./dist/overlap.ts";
import { LocalWorld, type World } from "./dist/world.ts";
import type { HostBatch } from "./batch_builder.ts";
import { type BatchLoader, epochOrder } from "./loader.ts";
import { lossPlotSvg } from "./plot.ts";
import { ProgressBar } from "./progress.ts";
import { type DynamicLossScale, unscaleGradients } from "./loss_scale.ts";
import {
  type LoopState,
  modelPath,
  type RunCheckpoint,
  saveModelCheckpoint,
  saveRunState,
  statePath,
} from "./run_state.ts";

/** What one training step returns. */
export interface StepOutput {
  /** the batch loss (before the division by the accumulation steps) */
  loss: number;
  /** further numbers to log (e.g. SCST's mean reward) */
  values?: Record<string, number>;
}

/** Context of a step. */
export interface StepContext {
  epoch: number;
  /**
   * the index of this micro-batch in the epoch (that of a single process, on every number of ranks): a step
   * that draws random numbers of its own keys them by (epoch, batch) so that any rank draws them alike
   */
  batch: number;
  /** 1 / accumulation steps: the factor of this batch's gradients */
  lossScale: number;
  /** drop-worst ratio of this epoch */
  dropWorstRatio: number;
  /** across ranks, before an update: the backward reports each finished encoder layer here */
  onLayerGradients?: (layer: number) => void;
}

/** Forward, loss and backward of one batch; gradients accumulate into the model's gradient buffer. */
export type StepFn = (batch: HostBatch, ctx: StepContext) => Promise<StepOutput>;

/** Options of {@linkcode train}. */
export interface TrainOptions {
  outputDir: string;
  model: VlpModel;
  loader: BatchLoader;
  optimizer: BertAdam;
  /** `--num_train_epochs` */
  epochs: number;
  /** `--gradient_accumulation_steps` (default 1) */
  accumulation?: number;
  /** the step (default {@linkcode lossStep}: masked LM or VQA) */
  step?: StepFn;
  /** `--label_smoothing` (masked LM; also stored in the checkpoint, as the original's buffer) */
  labelSmoothing?: number;
  /** `--max_drop_worst_ratio` (default 0) */
  maxDropWorstRatio?: number;
  /** `--drop_after` (default 6) */
  dropAfter?: number;
  /** validation after each epoch: metric name → value (called on every rank; across ranks it shares the work) */
  validate?: (epoch: number) => Promise<Record<string, number>>;
  /** RNGs besides the model's dropout RNG whose state is saved */
  rngs?: Record<string, Rng>;
  /**
   * the names of the step's `values` (e.g. SCST's `reward`): across ranks each round gathers them with the
   * losses, so that the log holds every micro-batch's values as one process logs them
   */
  valueNames?: readonly string[];
  /** the run's settings: written to opt.json; on resume they must equal the checkpoint's */
  settings: Record<string, unknown>;
  /**
   * the checkpoint of `outputDir` to continue from (`planOutputFolder` of output_folder.ts chooses it and
   * refuses a folder it cannot resume exactly); null or absent: a fresh start
   */
  resumeFrom?: { epoch: number; state: RunCheckpoint } | null;
  /**
   * `--fp16`: the dynamic loss scale (loss_scale.ts) of a model with float16 weights; each batch record logs
   * the scale it used (`loss_scale`) and a skipped step `overflow: true`. A resumed run starts it afresh.
   */
  lossScaler?: DynamicLossScale;
  /** progress bar options (default: stderr) */
  progress?: { write?: (t: string) => void; tty?: boolean; intervalS?: number } | false;
  /** the ranks of a data-parallel job (default: a world of one) */
  world?: World;
  /** compare the ranks' weights every this many updates (and before each checkpoint; default 50) */
  checkWeightsEvery?: number;
  /** gradient elements per all-reduce bucket (default: 25 MB of float32, dist/data_parallel.ts) */
  bucketElements?: number;
}

/** One epoch's summary. */
export interface EpochSummary {
  epoch: number;
  meanLoss: number;
  /** micro-batches of the epoch (of every rank) */
  batches: number;
  /** of those, the micro-batches this rank computed (all in a world of one) */
  ownBatches: number;
  examples: number;
  /** seconds of the batch loop (loading waits, steps, updates, logging) */
  seconds: number;
  /** examples / seconds */
  examplesPerSecond: number;
  /** seconds of the batch loop spent waiting for the loader */
  loadWaitSeconds: number;
  /** seconds spent writing the checkpoint */
  checkpointSeconds: number;
  /** seconds spent validating */
  validateSeconds: number;
  /** seconds spent summing gradients over the ranks (0 in a world of one) */
  allreduceSeconds: number;
  /** seconds of those the loop waited for (not hidden behind the backward) */
  allreduceWaitSeconds: number;
  /** all-reduce buckets started while a backward was still running */
  bucketsDuringBackward: number;
  metrics: Record<string, number>;
}

/** What {@linkcode train} did. */
export interface TrainResult {
  /** the checkpoint the run resumed from (null: fresh start) */
  resumedFrom: number | null;
  epochs: EpochSummary[];
  /** optimiser updates in total (including those before a resume) */
  optimizerSteps: number;
}

/** A loss that is NaN or infinite; training stops with this error. */
export class NonFiniteLossError extends RangeError {
  constructor(message: string, readonly epoch: number, readonly batch: number, readonly examples: number[]) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/** The default step: the model's masked-LM (img2txt) or VQA (vqa2) loss with its backward. */
export function lossStep(model: VlpModel, opts: { labelSmoothing?: number } = {}): StepFn {
  return async (batch, ctx) => {
    const t = model.forwardBackward(batch, {
      labelSmoothing: opts.labelSmoothing ?? 0,
      dropWorstRatio: ctx.dropWorstRatio,
      lossScale: ctx.lossScale,
      onLayerGradients: ctx.onLayerGradients,
    });
    return { loss: await model.readScalar(t) };
  };
}

/** The JSONL log: records of batches and epochs (and resume / stop events). */
export type LogRecord =
  & { type: "batch" | "epoch" | "resume" | "stop"; epoch: number }
  & Record<string, unknown>;

/** The files a run writes into its output folder besides the checkpoints. */
export const RUN_FILES = { log: "train_log.jsonl", settings: "opt.json", plot: "train_curve.svg" } as const;
const LOG = RUN_FILES.log, PLOT = RUN_FILES.plot;

/** The records of a `train_log.jsonl` (none when the file is missing; a line cut by a crash ends the log). */
export async function readTrainLog(path: string): Promise<LogRecord[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const out: LogRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      break; // a line cut by a crash ends the readable log
    }
  }
  return out;
}

/** Throw unless a checkpoint's run settings equal this run's (naming each difference). */
export function checkSettings(
  saved: Record<string, unknown>,
  now: Record<string, unknown>,
  file: string,
): void {
  const diffs: string[] = [];
  for (const k of new Set([...Object.keys(saved), ...Object.keys(now)])) {
    if (JSON.stringify(saved[k]) !== JSON.stringify(now[k])) {
      diffs.push(
        `${k} is ${JSON.stringify(now[k])} now but ${JSON.stringify(saved[k])} in the checkpoint's run`,
      );
    }
  }
  if (diffs.length) {
    throw new RangeError(
      `Cannot resume from "${file}": ${
        diffs.join("; ")
      }. Use the same settings, --overwrite_output_dir to start over, or another output folder.`,
    );
  }
}

/** Train (see the module doc). */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const { model, loader, optimizer } = o;
  const accumulation = o.accumulation ?? 1;
  if (!(Number.isInteger(accumulation) && accumulation >= 1)) {
    throw new RangeError(`Invalid gradient_accumulation_steps parameter: ${accumulation}, should be >= 1`);
  }
  const step = o.step ?? lossStep(model, { labelSmoothing: o.labelSmoothing });
  const world = o.world ?? new LocalWorld();
  const N = world.size, lead = world.rank === 0;
  const checkEvery = o.checkWeightsEvery ?? 50;
  const valueNames = o.valueNames ?? [];
  const dir = o.outputDir;
  if (lead) await Deno.mkdir(dir, { recursive: true });
  const logPath = join(dir, LOG);
  const nb = loader.batchesPerEpoch;

  // ---- fresh start or resume ------------------------------------------------------------------------------
  const found = o.resumeFrom ?? null;
  if (N > 1) {
    const seen = (await gatherRows(world, [found?.epoch ?? 0])).map((r) => r[0]);
    if (seen.some((e) => e !== seen[0])) {
      throw new RangeError(
        `Cannot start: the ranks see different checkpoints in "${dir}" (newest epoch by rank: ${
          seen.join(", ")
        }; 0: none); the output folder must be one folder on storage every rank reads`,
      );
    }
  }
  let records: LogRecord[] = [];
  let startEpoch = 1;
  let pending = 0;
  if (found) {
    const { epoch, state } = found;
    checkSettings(state.loop.settings, o.settings, statePath(dir, epoch));
    await loadCheckpoint(model, modelPath(dir, epoch));
    restore(o, state);
    if (!lead) model.zeroGrad(); // the pending gradients are counted once, on rank 0
    pending = state.loop.pendingMicroBatches;
    if (lead) records = (await readTrainLog(logPath)).filter((r) => r.epoch <= epoch);
    records.push({ type: "resume", epoch, optimizer_step: optimizer.stepCount });
    startEpoch = epoch + 1;
  } else {
    model.zeroGrad();
  }
  await broadcastParameters(model, world);
  let log: Deno.FsFile | null = null;
  if (lead) {
    await writeTextAtomic(join(dir, RUN_FILES.settings), JSON.stringify(o.settings, null, 2) + "\n");
    await writeTextAtomic(logPath, records.map((r) => JSON.stringify(r) + "\n").join(""));
    log = await Deno.open(logPath, { append: true });
  }
  const enc = new TextEncoder();
  const append = (r: LogRecord) => {
    records.push(r);
    log?.writeSync(enc.encode(JSON.stringify(r) + "\n"));
  };
  // dropout draws of one step: a rank skips those of the micro-batches the other ranks take
  const draws = N > 1 && startEpoch <= o.epochs ? await dropoutDraws(model, loader, startEpoch) : 0;

  const bar = o.progress === false || !lead
    ? null
    : new ProgressBar({ epochs: o.epochs, batchesPerEpoch: nb, startEpoch, ...o.progress });
  const summaries: EpochSummary[] = [];
  let runExamples = 0;
  try {
    for (let epoch = startEpoch; epoch <= o.epochs; epoch++) {
      const dropWorstRatio = epoch > (o.dropAfter ?? 6) ? (o.maxDropWorstRatio ?? 0) : 0;
      const ctx: StepContext = { epoch, batch: 0, lossScale: 1 / (N * accumulation), dropWorstRatio };
      const t0 = performance.now();
      let lossSum = 0,
        batches = 0,
        ownBatches = 0,
        examples = 0,
        wait = 0,
        reduceS = 0,
        reduceWaitS = 0,
        early = 0;
      const order = epochOrder(loader.size, loader.options.seed, epoch);
      const mine = loader.stream(rankBatches(nb, N, world.rank).map((i) => loader.request(epoch, i, order)));
      let tWait = performance.now();
      for (let first = 0; first < nb; first += N) {
        // ---- one round: micro-batches first … first + count − 1, one per rank ----------------------------
        const count = Math.min(N, nb - first);
        const lr = optimizer.currentLr();
        const scaleUsed = o.lossScaler?.scale ?? 1; // --fp16: the dynamic loss scale of this round's backward
        ctx.lossScale = scaleUsed / (N * accumulation);
        ctx.batch = first + world.rank;
        let own: { loss: number; examples: number; values?: Record<string, number> } | null = null;
        // an update ends this round (a whole one): its gradient sum starts during the backward
        const reducer = N > 1 && count === N && (first + N) % (N * accumulation) === 0
          ? OverlappedReducer.create(model, world, o.bucketElements)
          : null;
        if (world.rank < count) {
          const next = await mine.next();
          wait += (performance.now() - tWait) / 1000;
          const batch = next.value as HostBatch;
          advanceRng(model.rng, draws * world.rank);
          const before = model.rng.getState();
          const out = await step(batch, reducer ? { ...ctx, onLayerGradients: reducer.layerReady } : ctx);
          reducer?.finishBackward();
          if (N > 1 && drawsBetween(model.rng, before, model.rng.getState(), 4 * draws) !== draws) {
            throw new RangeError(
              "Cannot train across ranks: a step drew a different number of dropout seeds",
            );
          }
          advanceRng(model.rng, draws * (count - world.rank - 1));
          own = { loss: out.loss, examples: batch.examples.length, values: out.values };
          ownBatches++;
        } else {
          advanceRng(model.rng, draws * count);
        }
        // every rank's loss, examples, loss scale and values (one small all-reduce)
        const rows = N > 1
          ? await gatherRows(world, [
            own?.loss ?? 0,
            own?.examples ?? 0,
            scaleUsed,
            ...valueNames.map((k) => own?.values?.[k] ?? 0),
          ])
          : null;
        if (rows) checkScalesAgree(rows.map((r) => r[2]), { epoch, batch: first });
        for (let j = 0; j < count; j++) {
          const index = first + j;
          const loss = rows ? rows[j][0] : own!.loss, B = rows ? rows[j][1] : own!.examples;
          if (!Number.isFinite(loss)) {
            const exs = [...loader.request(epoch, index, order).examples];
            const images = exs.map((e) =>
              loader.options.examples.imageIds[loader.options.examples.exampleImage[e]]
            );
            append({ type: "stop", epoch, batch: index, loss: String(loss), examples: exs, images });
            throw new NonFiniteLossError(
              `Training stopped: the loss is ${loss} at epoch ${epoch}, batch ${index} of ${nb} ` +
                `(optimizer step ${optimizer.stepCount}); the batch holds examples [${
                  exs.join(", ")
                }] of images ` +
                `[${[...new Set(images)].join(", ")}]`,
              epoch,
              index,
              exs,
            );
          }
          pending++;
          let overflow = false;
          if ((index + 1) % (N * accumulation) === 0) {
            if (reducer) {
              const t = await reducer.wait();
              reduceS += t.commSeconds;
              reduceWaitS += t.exposedSeconds;
              early += t.bucketsDuringBackward;
            } else {
              const t = (await allreduceGradients(model, world, o.bucketElements)).seconds;
              reduceS += t;
              reduceWaitS += t;
            }
            // --fp16: unscaled after the ranks' sum; the overflow count is summed over the ranks, so every rank
            // skips the same steps and keeps the same loss scale
            overflow = o.lossScaler ? !(await unscaleGradients(model, o.lossScaler, world)) : false;
            if (!overflow) optimizer.step(); // an overflow skips the step (its gradients are dropped)
            model.zeroGrad();
            pending = 0;
            if (N > 1 && optimizer.stepCount % checkEvery === 0) {
              await checkWeightsAgree(model, world, { step: optimizer.stepCount, epoch });
            }
          }
          lossSum += loss;
          batches++;
          examples += B;
          runExamples += B;
          append({
            type: "batch",
            epoch,
            batch: index,
            optimizer_step: optimizer.stepCount,
            loss,
            lr,
            examples: B,
            ...(o.lossScaler ? { loss_scale: scaleUsed, ...(overflow ? { overflow: true } : {}) } : {}),
            ...(rows ? Object.fromEntries(valueNames.map((k, v) => [k, rows[j][3 + v]])) : own!.values),
          });
          bar?.update({ epoch, batch: index + 1, examples: runExamples, loss });
        }
        tWait = performance.now();
      }
      await mine.return(undefined);
      const seconds = (performance.now() - t0) / 1000;
      if (N > 1 && pending > 0) {
        // the micro-batches after the epoch's last update: their gradient sum is kept (and saved) by rank 0
        reduceS += (await allreduceGradients(model, world)).seconds;
        if (!lead) model.zeroGrad();
      }
      await checkWeightsAgree(model, world, { step: optimizer.stepCount, epoch });
      // checkpoint: the model first, the state (which marks the checkpoint complete) last
      const tc = performance.now();
      if (lead) await saveCheckpoint(o, model, optimizer, epoch, pending);
      const tv = performance.now();
      const metrics = o.validate ? await o.validate(epoch) : {}; // every rank takes its share
      await world.barrier();
      const checkpointSeconds = (tv - tc) / 1000, validateSeconds = (performance.now() - tv) / 1000;
      const summary: EpochSummary = {
        epoch,
        meanLoss: lossSum / batches,
        batches,
        ownBatches,
        examples,
        seconds,
        examplesPerSecond: examples / seconds,
        loadWaitSeconds: wait,
        checkpointSeconds,
        validateSeconds,
        allreduceSeconds: reduceS,
        allreduceWaitSeconds: reduceWaitS,
        bucketsDuringBackward: early,
        metrics,
      };
      summaries.push(summary);
      append({
        type: "epoch",
        epoch,
        mean_loss: summary.meanLoss,
        batches,
        examples,
        seconds,
        examples_per_s: summary.examplesPerSecond,
        load_wait_s: wait,
        checkpoint_s: checkpointSeconds,
        validate_s: validateSeconds,
        optimizer_step: optimizer.stepCount,
        ...(N > 1
          ? { ranks: N, allreduce_s: reduceS, allreduce_wait_s: reduceWaitS, buckets_during_backward: early }
          : {}),
        ...metrics,
      });
      if (lead) await writePlot(dir, records, nb);
      bar?.endEpoch(
        `epoch ${epoch}: mean loss ${summary.meanLoss.toFixed(4)}, ${
          summary.examplesPerSecond.toFixed(1)
        } ex/s, ` +
          `${formatMetrics(metrics)}saved ${modelPath(dir, epoch)}`,
      );
    }
  } finally {
    log?.close();
  }
  return { resumedFrom: found?.epoch ?? null, epochs: summaries, optimizerSteps: optimizer.stepCount };
}

/** Write `model.{epoch}.bin`, then `optim.{epoch}.npz` (which marks the checkpoint complete). */
async function saveCheckpoint(
  o: TrainOptions,
  model: VlpModel,
  optimizer: BertAdam,
  epoch: number,
  pending: number,
): Promise<void> {
  const dir = o.outputDir;
  await saveModelCheckpoint(model, modelPath(dir, epoch), { labelSmoothing: o.labelSmoothing });
  await saveRunState(
    statePath(dir, epoch),
    {
      epoch,
      pendingMicroBatches: pending,
      modelRng: model.rng.getState(),
      rngs: Object.fromEntries(Object.entries(o.rngs ?? {}).map(([k, r]) => [k, r.getState()])),
      settings: o.settings,
    } satisfies LoopState,
    await optimizer.getState(),
    pending > 0 ? await hostGrads(model) : null,
    new Map(model.table.specs.map((s) => [s.name, s.shape])),
  );
}

/** How many dropout seeds one step draws from the model's RNG (a loss forward with dropout on, undone). */
async function dropoutDraws(model: VlpModel, loader: BatchLoader, epoch: number): Promise<number> {
  const built = await loader.build(loader.request(epoch, 0));
  // the seeds a forward draws depend on the layers, not on the loss inputs: a batch without masked slots
  // (SCST's) is measured with one empty slot per example
  const B = built.examples.length;
  const batch = model.task === "img2txt" && !built.maskedPos
    ? {
      ...built,
      maskedPos: new Int32Array(B),
      maskedIds: new Int32Array(B),
      maskedWeights: new Float32Array(B),
    }
    : built;
  const before = model.rng.getState();
  await model.readScalar(model.loss(batch, { dropout: true }));
  const n = drawsBetween(model.rng, before, model.rng.getState());
  model.rng.setState(before);
  return n;
}

function formatMetrics(m: Record<string, number>): string {
  const e = Object.entries(m);
  return e.length ? e.map(([k, v]) => `${k} ${Number(v.toPrecision(5))}`).join(", ") + ", " : "";
}

function restore(o: TrainOptions, state: RunCheckpoint): void {
  const { model, optimizer } = o;
  optimizer.setState(state.optimizer, "the checkpoint's optimizer state");
  model.rng.setState(state.loop.modelRng);
  for (const [k, r] of Object.entries(o.rngs ?? {})) {
    const s = state.loop.rngs[k];
    if (!s) throw new TypeError(`Cannot resume: the checkpoint has no state of the "${k}" RNG`);
    r.setState(s);
  }
  model.zeroGrad();
  if (state.loop.pendingMicroBatches > 0) {
    const views = model.gradientViews();
    for (const [k, t] of views) {
      const g = state.grads.get(k);
      if (!g) continue; // tensors outside the loss keep zero gradients
      if (g.length !== t.size) {
        throw new TypeError(
          `Cannot resume: pending gradient "${k}" has ${g.length} elements, expected ${t.size}`,
        );
      }
      model.backend.write(t, g);
    }
  }
}

async function hostGrads(model: VlpModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of model.gradientViews()) out.set(k, Float32Array.from(await model.backend.read(t)));
  return out;
}

/** Fields of an epoch record that are bookkeeping, not validation metrics. */
const EPOCH_BOOKKEEPING = new Set([
  "type",
  "epoch",
  "mean_loss",
  "batches",
  "examples",
  "seconds",
  "examples_per_s",
  "load_wait_s",
  "checkpoint_s",
  "validate_s",
  "optimizer_step",
]);

/** The validation metrics of an epoch record of the log (its numeric fields that are not bookkeeping). */
export function epochMetrics(record: LogRecord): Record<string, number> {
  return Object.fromEntries(
    Object.entries(record).filter(([k, v]) => !EPOCH_BOOKKEEPING.has(k) && typeof v === "number"),
  ) as Record<string, number>;
}

async function writePlot(dir: string, records: LogRecord[], batchesPerEpoch: number): Promise<void> {
  const losses = records.filter((r) => r.type === "batch").map((r) => r.loss as number);
  const metrics = records.filter((r) => r.type === "epoch").map((r) => ({
    epoch: r.epoch,
    values: epochMetrics(r),
  }));
  await writeTextAtomic(
    join(dir, PLOT),
    lossPlotSvg({ losses, batchesPerEpoch, metrics, title: `training loss (${dir})` }),
  );
}
