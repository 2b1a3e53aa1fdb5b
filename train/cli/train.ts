/**
 * `deno task train`: VLP's `run_img2txt_dist.py` on one machine — pre-training, caption fine-tuning
 * (`--tasks img2txt`), VQA fine-tuning (`--tasks vqa2`) and SCST (`--scst`), with the original's flag names.
 * Checkpoints `model.{epoch}.bin` (+ `optim.{epoch}.npz`), `train_log.jsonl` and `train_curve.svg` go to
 * `--output_dir`; an output folder that already holds a checkpoint continues from the newest one (`--resume`
 * insists on one, `--resume_from` names an older one); a folder whose newest checkpoint cannot be resumed
 * exactly, or that holds an earlier run's files, is refused unless `--overwrite_output_dir` (see
 * ../output_folder.ts). Progress on stderr; stdout ends with ONE JSON line of figures.
 * Exit status: 0 done, 1 failed (bad data, NaN loss, ...), 2 bad flags.
 *
 * Under Open MPI's `mpirun -np N` the run is data-parallel over N ranks (train/dist/): rank 0 writes the
 * files and the figures line; a rank that fails prints its error and calls MPI_Abort, ending the job.
 *
 * See train/README.md for every flag.
 *
 * @module
 */
import { z } from "zod";
import { CaptionDecoder } from "@vlp/decode";
import { loadAnswerVocab, loadKarpathy, loadValidJpgs, loadVqaImdb, type Split, SPLITS } from "@vlp/features";
import { LEN_VIS_INPUT, MASK_PROB, MAX_LEN_B, MAX_PRED, TRAIN_SEED } from "@vlp/model";
import { BertAdam } from "../bert_adam.ts";
import { captionExamples, type ExampleSet, vqaExamples } from "../examples.ts";
import { BatchLoader } from "../loader.ts";
import type { PipelineOptions } from "../pipeline.ts";
import { type Schedule, SCHEDULES, totalSteps } from "../schedule.ts";
import { scstStep } from "../scst.ts";
import { type StepFn, train } from "../trainer.ts";
import { DynamicLossScale } from "../loss_scale.ts";
import { captionValidator, captionValImages, vqaValidator } from "../validation.ts";
import {
  checkOutputDir,
  type Command,
  integer,
  type NamedPath,
  number,
  refuseOverwritingInputs,
  shownPath,
  startCommand,
  UsageError,
  userPath,
} from "@vlp/command";
import type { World } from "../dist/world.ts";
import { runOnEveryRank } from "../dist/run_ranks.ts";
import {
  checkRunAgainstFolder,
  plannedOutputs,
  planOutputFolder,
  prepareOutputFolder,
} from "../output_folder.ts";
import { commonShape, createRunModel, loadModelSetup, regionOptions } from "./setup.ts";

const USAGE = `Usage: deno task train --output_dir DIR --vocab VOCAB.txt --src_file FILE... --image_root DIR
                      --enable_butd [options]

Data
  --tasks img2txt|vqa2         captioning / pre-training (masked LM) or VQA (default img2txt)
  --src_file F...              img2txt: one Karpathy-split JSON; vqa2: Pythia imdb .npy files
  --split S...                 img2txt splits to train on (default train restval)
  --file_valid_jpgs F          img2txt: *_valid_jpgs.json, the images that have features (required)
  --dataset coco|flickr30k|cc  region layout (default coco)
  --image_root DIR             root of the region features
  --region_det_file_prefix P   feature shard prefix under image_root (default: the data set's)
  --region_bbox_file F         merged bbox HDF5 under image_root (default: the data set's)
  --answer_vocab F             vqa2: the answer list (answers_vqa.txt, line 0 <unk>)
  --use_num_imgs N             only the first N images (img2txt) / questions (vqa2); -1 all (default)
Model
  --vocab F                    WordPiece vocab.txt (bert-base-cased in the original)
  --do_lower_case              lowercase the text (uncased vocabularies)
  --config_path F              bert_config.json (default BERT-base cased)
  --model_recover_path F       initial weights: a VLP checkpoint or BERT/UniLM weights (from_pretrained);
                               default: random init
  --drop_prob P                dropout (default 0.1)
  --len_vis_input R            region slots (default ${LEN_VIS_INPUT})
  --new_segment_ids            segment ids 4/5 for seq2seq examples
Example pipeline
  --s2s_prob P --bi_prob Q     attention mode of each example (default 1 / 0; must sum to 1)
  --mask_prob P                masked fraction of the text (default ${MASK_PROB})
  --max_pred N                 masked tokens per example at most (default ${MAX_PRED})
  --max_len_b N                wordpieces of the text at most (default ${MAX_LEN_B})
  --always_truncate_tail       cut long texts at the tail (else front or tail at random)
Optimisation
  --learning_rate LR           (default 3e-5)
  --num_train_epochs N         (default 30)
  --train_batch_size B         examples per optimiser update (default 64)
  --gradient_accumulation_steps K   micro-batches of B/K examples per update (default 1)
  --warmup_proportion W        (default 0.1)
  --sche_mode S                ${SCHEDULES.join(" | ")} (default warmup_linear)
  --label_smoothing E          (default 0)
  --max_drop_worst_ratio R     drop-worst ratio (default 0: off)
  --drop_after N               drop-worst from epoch N+1 on (default 6)
  --scst                       self-critical training (needs --max_pred 0 --mask_prob 0, coco)
  --seed N                     (default ${TRAIN_SEED})
Run
  --output_dir DIR             checkpoints, log and plot (default tmp)
  --resume                     require a checkpoint in output_dir to continue from
  --resume_from DIR/model.K.bin  continue from epoch K of output_dir on purpose (not its newest); the later
                               epochs are trained again and their files replaced
  --overwrite_output_dir       start over in an output_dir that holds an earlier run: its training files
                               (model.*.bin, optim.*, opt.json, train_log.jsonl, train_curve.svg,
                               val_captions.*.json) are removed just before the first batch
                               (without it such a folder is refused unless its newest checkpoint resumes)
  --val_split S                img2txt: caption this Karpathy split after each epoch, report CIDEr
  --val_max_images N           at most N validation images
  --val_src_file F             vqa2: imdb .npy with answers, report VQA accuracy after each epoch
  --val_batch_size N           (default 32)
  --backend NAME               blas | reference | reference64 | webgpu (default blas)
  --fp16                       mixed precision (webgpu with shader-f16 only): float16 GEMM weights,
                               float32 masters and BertAdam, dynamic loss scale from 2^16 (logged)
  --threads N                  OpenBLAS threads
  --num_workers N              loader Workers (0: load on the main thread; default 1)
  --prefetch N                 batches loaded ahead (default 2 per worker)
  --max_position_embeddings N  position table rows (default: the config's)
Data parallel (start with mpirun -np N; --train_batch_size is per process, as in the original)
  --world_size N               ranks (default: mpirun's; must agree with it)
  --global_rank R              this process's rank (default: mpirun's; must agree with it)
  --local_rank R               rank on this machine (default: mpirun's; must agree with it)
  --bucket_cap_mb M            gradients all-reduced in buckets of M MB, started during the backward
                               (default 25, as DDP's)
Accepted for the original's command lines: --do_train, --amp, --from_scratch, --weight_decay (ignored:
BertAdam's decay is 0.01, as in the original), --trunc_seg b, --log_file.`;

const prob = (name: string) =>
  number().min(0, `--${name} must be in [0, 1]`).max(1, `--${name} must be in [0, 1]`);

const Flags = z.object({
  ...commonShape,
  output_dir: z.string().min(1).default("tmp"),
  model_recover_path: z.string().min(1).optional(),
  learning_rate: number().min(0, "--learning_rate must be ≥ 0").default(3e-5),
  num_train_epochs: integer(1).default(30),
  train_batch_size: integer(1).default(64),
  gradient_accumulation_steps: integer(1).default(1),
  warmup_proportion: number().refine((w) => w === -1 || (w >= 0 && w < 1), {
    message: "must be in [0, 1) or -1",
  }).default(0.1),
  sche_mode: z.enum(SCHEDULES, { message: `must be one of ${SCHEDULES.join(", ")}` }).default(
    "warmup_linear",
  ),
  always_truncate_tail: z.boolean().default(false),
  src_file: z.array(z.string().min(1)).min(1, "needs at least one file").optional(),
  split: z.array(z.enum(SPLITS, { message: `must be among ${SPLITS.join(", ")}` })).default([
    "train",
    "restval",
  ]),
  file_valid_jpgs: z.string().min(1).optional(),
  s2s_prob: prob("s2s_prob").default(1),
  bi_prob: prob("bi_prob").default(0),
  tasks: z.enum(["img2txt", "vqa2"], { message: "must be img2txt or vqa2" }).default("img2txt"),
  mask_prob: prob("mask_prob").default(MASK_PROB),
  max_pred: integer(0).default(MAX_PRED),
  max_len_b: integer(1).default(MAX_LEN_B),
  label_smoothing: number().min(0).lt(1, "--label_smoothing must be in [0, 1)").default(0),
  max_drop_worst_ratio: number().min(0).lt(1, "--max_drop_worst_ratio must be in [0, 1)")
    .default(0),
  drop_after: integer(0).default(6),
  scst: z.boolean().default(false),
  use_num_imgs: integer().min(-1, "--use_num_imgs must be -1 or ≥ 0").default(-1),
  answer_vocab: z.string().min(1).optional(),
  resume: z.boolean().default(false),
  resume_from: z.string().min(1).optional(),
  overwrite_output_dir: z.boolean().default(false),
  val_split: z.enum(SPLITS, { message: `must be one of ${SPLITS.join(", ")}` }).optional(),
  val_max_images: integer(1).optional(),
  val_src_file: z.string().min(1).optional(),
  val_batch_size: integer(1).default(32),
  prefetch: integer(1).optional(),
  do_train: z.boolean().optional(),
  amp: z.boolean().optional(),
  fp16: z.boolean().default(false),
  from_scratch: z.boolean().optional(),
  weight_decay: number().optional(),
  trunc_seg: z.literal("b", { errorMap: () => ({ message: "only b (the text) is supported" }) }).optional(),
  log_file: z.string().optional(),
  world_size: integer(1).optional(),
  global_rank: integer(-1).optional(),
  local_rank: integer(-1).optional(),
  bucket_cap_mb: number().gt(0, "--bucket_cap_mb must be > 0").default(25),
}).superRefine((f, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (!f.src_file) issue("src_file", "is required");
  if (f.overwrite_output_dir && (f.resume || f.resume_from)) {
    issue("overwrite_output_dir", "starts over: it cannot be combined with --resume or --resume_from");
  }
  if (Math.abs(f.s2s_prob + f.bi_prob - 1) > 1e-9) {
    issue("s2s_prob", `--s2s_prob ${f.s2s_prob} and --bi_prob ${f.bi_prob} must sum to 1`);
  }
  if (Math.trunc(f.train_batch_size / f.gradient_accumulation_steps) < 1) {
    issue(
      "gradient_accumulation_steps",
      "must not exceed --train_batch_size (each micro-batch needs an example)",
    );
  }
  if (f.tasks === "img2txt") {
    if (f.src_file && f.src_file.length !== 1) {
      issue("src_file", "img2txt takes exactly one Karpathy-split JSON");
    }
    if (!f.file_valid_jpgs) {
      issue("file_valid_jpgs", "is required for img2txt (the images that have features)");
    }
    if (f.val_src_file) issue("val_src_file", "is for vqa2; img2txt validates with --val_split");
  } else {
    if (!f.answer_vocab) issue("answer_vocab", "is required for vqa2 (the answer list, line 0 <unk>)");
    if (f.val_split) issue("val_split", "is for img2txt; vqa2 validates with --val_src_file");
  }
  if (f.fp16 && f.backend !== "webgpu") {
    issue(
      "fp16",
      `needs --backend webgpu (float16 weights on an adapter with shader-f16); the ${f.backend} backend computes in float32 only`,
    );
  }
  if (f.scst) {
    if (f.max_pred !== 0 || f.mask_prob !== 0) {
      issue("scst", "needs --max_pred 0 --mask_prob 0 (no mask for SCST)");
    }
    if (f.dataset !== "coco") issue("scst", "is supported on coco only, as in the original");
    if (f.tasks !== "img2txt") issue("scst", "needs --tasks img2txt");
    if (f.s2s_prob !== 1) issue("scst", "needs --s2s_prob 1 (SCST decodes with the seq2seq mask)");
  }
});

type Flags = z.infer<typeof Flags>;

let log = (line: string) => console.error(line);

/** The settings that shape the training trajectory (a resumed run must share them). */
function settingsOf(f: Flags, examples: number, ranks: number): Record<string, unknown> {
  const keys: (keyof Flags)[] = [
    "tasks",
    "dataset",
    "split",
    "seed",
    "learning_rate",
    "num_train_epochs",
    "train_batch_size",
    "gradient_accumulation_steps",
    "warmup_proportion",
    "sche_mode",
    "s2s_prob",
    "bi_prob",
    "mask_prob",
    "max_pred",
    "max_len_b",
    "always_truncate_tail",
    "new_segment_ids",
    "label_smoothing",
    "max_drop_worst_ratio",
    "drop_after",
    "scst",
    "drop_prob",
    "use_num_imgs",
    "backend",
  ];
  // fp16 only when set, so that the settings of float32 runs stay those of runs made before --fp16 existed
  return {
    ...Object.fromEntries(keys.map((k) => [k, f[k]])),
    ...(f.fp16 ? { fp16: true } : {}),
    examples,
    ...(ranks > 1 ? { ranks } : {}),
  };
}

/** The original's --world_size / --global_rank / --local_rank, checked against the world mpirun started. */
function checkRankFlags(f: Flags, world: World): void {
  const started = world.kind === "mpi" ? "mpirun started" : "this process was started without mpirun:";
  const check = (flag: string, given: number | undefined, actual: number, unset: number) => {
    if (given === undefined || (given === unset && world.size === 1)) return;
    if (given !== actual) {
      throw new UsageError(
        `--${flag} ${given} disagrees with the world: ${started} ${world.size} rank${
          world.size === 1 ? "" : "s"
        }, this one is rank ${world.rank} (local rank ${world.localRank}); omit the flag or start with ` +
          `mpirun -np ${flag === "world_size" ? given : "N"}`,
        flag,
      );
    }
  };
  check("world_size", f.world_size, world.size, 1);
  check("global_rank", f.global_rank, world.rank, -1);
  check("local_rank", f.local_rank, world.localRank, -1);
}

/** The files a run reads (an output may not be one of them). */
function inputsOf(f: Flags): NamedPath[] {
  const given = (name: string, p: string | undefined) => (p ? [{ name, path: userPath(p) }] : []);
  return [
    ...given("--model_recover_path", f.model_recover_path),
    ...given("--config_path", f.config_path),
    ...given("--vocab", f.vocab),
    ...f.src_file!.map((p) => ({ name: "--src_file", path: userPath(p) })),
    ...given("--file_valid_jpgs", f.file_valid_jpgs),
    ...given("--answer_vocab", f.answer_vocab),
    ...given("--val_src_file", f.val_src_file),
  ];
}

const CMD: Command<Flags> = { name: "train", usage: USAGE, flags: Flags };

async function main(f: Flags, world: World): Promise<void> {
  const t0 = performance.now();
  checkRankFlags(f, world);
  if (world.rank > 0) log = () => {}; // rank 0 reports; the others only their errors
  const ranks = world.size;
  if (f.weight_decay !== undefined && f.weight_decay !== 0.01) {
    log(`note: --weight_decay ${f.weight_decay} is ignored; BertAdam's decay is 0.01, as in the original`);
  }
  const outputDir = userPath(f.output_dir);
  const folder = await planOutputFolder(outputDir, {
    resumeFrom: f.resume_from === undefined ? undefined : userPath(f.resume_from),
    overwrite: f.overwrite_output_dir,
    require: f.resume,
  });
  const { tokenizer, config, ids } = await loadModelSetup(f);
  const regions = regionOptions(f, config);
  const task = f.tasks;

  // ---- data ---------------------------------------------------------------------------------------------
  let examples: ExampleSet;
  let answerWords: string[] | undefined;
  const srcFiles = f.src_file!.map(userPath);
  if (task === "img2txt") {
    const karpathy = await loadKarpathy(srcFiles[0]);
    const valid = await loadValidJpgs(userPath(f.file_valid_jpgs!));
    examples = captionExamples(karpathy, tokenizer, {
      splits: f.split as Split[],
      validJpgs: valid,
      useNumImgs: f.use_num_imgs,
      source: srcFiles[0],
    });
  } else {
    const imdbs = [];
    for (const p of srcFiles) imdbs.push(await loadVqaImdb(p, { requireAnswers: true }));
    examples = vqaExamples(imdbs, tokenizer, { useNumImgs: f.use_num_imgs });
    answerWords = [...(await loadAnswerVocab(userPath(f.answer_vocab!), config.numAnswers)).words];
  }
  const n = examples.exampleImage.length;
  if (n === 0) {
    throw new RangeError(
      task === "img2txt"
        ? `No training examples: no image of split(s) ${f.split.join(", ")} in "${
          srcFiles[0]
        }" is in the valid-jpgs file`
        : `No training examples in ${srcFiles.join(", ")}`,
    );
  }
  const pipeline: PipelineOptions = {
    R: config.regions,
    maxLenB: f.max_len_b,
    maxPred: f.max_pred,
    maskProb: f.mask_prob,
    newSegmentIds: f.new_segment_ids,
    alwaysTruncateTail: f.always_truncate_tail,
    vocabSize: config.vocabSize,
    special: ids,
  };
  const microBatch = Math.trunc(f.train_batch_size / f.gradient_accumulation_steps);
  const loader = new BatchLoader({
    examples,
    regions,
    pipeline,
    s2sProb: f.s2s_prob,
    answerWords,
    batchSize: microBatch,
    seed: f.seed,
    numWorkers: f.num_workers,
    prefetch: f.prefetch,
  });
  // N ranks of accumulation K update where one process with N·K micro-batches per update would
  const tTotal = totalSteps(
    loader.batchesPerEpoch,
    f.num_train_epochs,
    ranks * f.gradient_accumulation_steps,
  );
  log(
    `${n} ${task === "img2txt" ? "caption" : "question"} examples of ${examples.imageIds.length} images; ` +
      `${loader.batchesPerEpoch} batches of ${microBatch} per epoch${
        ranks > 1 ? ` over ${ranks} ranks` : ""
      }; ${tTotal} optimiser steps in all`,
  );

  // ---- model, optimiser, step ---------------------------------------------------------------------------
  const model = await createRunModel(f, config, task, f.model_recover_path, log, { fp16: f.fp16, world });
  const optimizer = new BertAdam(model, {
    lr: f.learning_rate,
    warmup: f.warmup_proportion,
    tTotal: Math.max(tTotal, 1),
    schedule: f.sche_mode as Schedule,
  });
  let step: StepFn | undefined;
  if (f.scst) {
    // each micro-batch samples from streams keyed by (seed, epoch, batch): the same on any number of ranks
    step = scstStep({
      model,
      decoder: new CaptionDecoder(model, { maxImages: microBatch, maxTgtLength: f.max_len_b + 1, ids }),
      seed: f.seed,
      ids,
    });
  }

  // ---- validation ---------------------------------------------------------------------------------------
  let validate: ((epoch: number) => Promise<Record<string, number>>) | undefined;
  let valLoader: BatchLoader | null = null;
  if (f.val_split) {
    const karpathy = await loadKarpathy(srcFiles[0]);
    const images = captionValImages(karpathy, f.dataset, f.val_split, {
      validJpgs: await loadValidJpgs(userPath(f.file_valid_jpgs!)),
      maxImages: f.val_max_images,
      source: srcFiles[0],
    });
    log(`validation: greedy captions of ${images.length} ${f.val_split} images after each epoch`);
    validate = captionValidator({
      model,
      images,
      regions,
      vocab: tokenizer.vocab,
      batchSize: f.val_batch_size,
      newSegmentIds: f.new_segment_ids,
      ids,
      resultsPath: (epoch) => `${userPath(f.output_dir)}/val_captions.${epoch}.json`,
      world,
    });
  } else if (f.val_src_file) {
    const imdb = await loadVqaImdb(userPath(f.val_src_file), { requireAnswers: true });
    const valExamples = vqaExamples([imdb], tokenizer, { useNumImgs: f.val_max_images ?? -1 });
    valLoader = new BatchLoader({
      examples: valExamples,
      regions,
      pipeline: { ...pipeline, maxPred: 0, maskProb: 0, alwaysTruncateTail: true },
      s2sProb: 0,
      answerWords,
      batchSize: f.val_batch_size,
      seed: f.seed,
      numWorkers: f.num_workers,
    });
    log(`validation: VQA accuracy on ${valExamples.exampleImage.length} questions after each epoch`);
    validate = vqaValidator(model, valLoader, answerWords!, world);
  }

  // ---- the output folder, last of the checks before the first batch ---------------------------------------
  const settings = settingsOf(f, n, ranks);
  const sizes = new Map(model.table.specs.map((s) => [s.name, s.size]));
  await checkRunAgainstFolder(folder, { settings, stepping: optimizer.stepping, sizes });
  await refuseOverwritingInputs(
    plannedOutputs(folder, f.num_train_epochs).map((path) => ({ name: "--output_dir", path })),
    inputsOf(f),
  );
  // every rank has checked the folder before rank 0 alone changes it
  await world.barrier();
  if (world.rank === 0) {
    // room for one epoch's checkpoint: the model, BertAdam's two moments and pending gradients (float32)
    const params = [...sizes.values()].reduce((a, b) => a + b, 0);
    await checkOutputDir(outputDir, "--output_dir", {
      create: true,
      bytes: 4 * params * (f.gradient_accumulation_steps > 1 ? 4 : 3) + 2 ** 20,
    });
    for (const note of folder.notes) log(`note: ${note}`);
    const cleaned = await prepareOutputFolder(folder);
    for (const p of cleaned.temporaries) log(`removed ${shownPath(p)}, a temporary file of a killed run`);
    if (cleaned.removed.length) log(`removed ${cleaned.removed.length} training file(s) of the earlier run`);
  }
  await world.barrier();

  // ---- train ----------------------------------------------------------------------------------------------
  let result;
  try {
    result = await train({
      outputDir,
      model,
      loader,
      optimizer,
      epochs: f.num_train_epochs,
      accumulation: f.gradient_accumulation_steps,
      step,
      labelSmoothing: f.label_smoothing,
      maxDropWorstRatio: f.max_drop_worst_ratio,
      dropAfter: f.drop_after,
      validate,
      valueNames: f.scst ? ["reward"] : [],
      settings,
      resumeFrom: folder.resume,
      world,
      bucketElements: Math.max(1, Math.round((f.bucket_cap_mb * 1024 * 1024) / 4)),
      ...(f.fp16 ? { lossScaler: new DynamicLossScale() } : {}),
    });
  } finally {
    await loader.close();
    await valLoader?.close();
  }
  if (result.resumedFrom !== null) log(`resumed from epoch ${result.resumedFrom}`);
  const last = result.epochs.at(-1);
  const examplesRun = result.epochs.reduce((s, e) => s + e.examples, 0);
  const trainSeconds = result.epochs.reduce((s, e) => s + e.seconds, 0);
  if (world.rank > 0) return;
  console.log(JSON.stringify({
    output_dir: outputDir,
    task,
    scst: f.scst,
    backend: model.backend.name,
    fp16: f.fp16,
    resumed_from: result.resumedFrom,
    epochs_run: result.epochs.length,
    last_epoch: last?.epoch ?? result.resumedFrom,
    optimizer_steps: result.optimizerSteps,
    examples: examplesRun,
    mean_loss_last_epoch: last?.meanLoss ?? null,
    mean_loss_per_epoch: result.epochs.map((e) => e.meanLoss),
    metrics_last_epoch: last?.metrics ?? null,
    examples_per_s: trainSeconds > 0 ? examplesRun / trainSeconds : null,
    ...(ranks > 1
      ? {
        ranks,
        allreduce_s: result.epochs.reduce((s, e) => s + e.allreduceSeconds, 0),
        allreduce_wait_s: result.epochs.reduce((s, e) => s + e.allreduceWaitSeconds, 0),
      }
      : {}),
    load_wait_s: result.epochs.reduce((s, e) => s + e.loadWaitSeconds, 0),
    seconds: (performance.now() - t0) / 1000,
  }));
}

if (import.meta.main) await runOnEveryRank(CMD.name, startCommand(CMD), main);
