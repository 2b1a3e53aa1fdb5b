/**
 * The demo pipeline: every step is one of the project's CLIs, run as a user runs it on COCO
 * (`deno task make-scenes`, `train`, `decode`, `eval-vqa2`), in a run folder:
 *
 * ```
 * DIR/scenes/            the scene set (reused when its manifest matches the configuration)
 * DIR/bert_config.json   the model size
 * DIR/untrained/         random-init checkpoints (captioning and VQA heads): the honest baseline
 * DIR/pretrain/          masked LM, seq2seq 0.75 / bidirectional 0.25 on the training captions
 * DIR/caption/           caption fine-tuning from pretrain (seq2seq), validation CIDEr per epoch
 * DIR/vqa/               VQA fine-tuning from pretrain (bidirectional), validation accuracy per epoch
 *                        (the two fine-tunings, each followed by its test runs, go in parallel on 2+ cores)
 * DIR/results/           test captions and answers of the trained and the untrained models
 * DIR/report/index.html  the report
 * DIR/summary.json       the figures
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { createBackend, createModel, readBertConfig, saveCheckpoint } from "@vlp/model";
import type { DemoConfig } from "./config.ts";
import { readSceneManifest, SCENE_FILES, type SceneManifest, SCENES_VERSION } from "./scenes/make_scenes.ts";
import { countLines, writeTextAtomic } from "./scenes/files.ts";
import { runTask, type TaskRun } from "./tasks.ts";

/** Figures of one model on the test split. */
export interface ModelScores {
  captions: Record<string, number>;
  unavailable: Record<string, string>;
  vqa: { overall: number; perAnswerType: Record<string, number>; perQuestion?: Record<string, number> };
}

/** What a demo run produced (paths absolute). */
export interface DemoRun {
  dir: string;
  config: DemoConfig;
  manifest: SceneManifest;
  scenesReused: boolean;
  /** Whether the caption and VQA fine-tunings (with their test runs) ran at the same time. */
  parallel: boolean;
  runs: TaskRun[];
  trained: ModelScores;
  untrained: ModelScores;
  files: {
    scenes: string;
    captions: { trained: string; untrained: string };
    answers: { trained: string; untrained: string };
    logs: { pretrain: string; caption: string; vqa: string };
  };
  backend: string;
  seconds: number;
}

/** Options of {@linkcode runDemo}. */
export interface RunDemoOptions {
  dir: string;
  config: DemoConfig;
  /** Pass the CLIs' progress through to stderr (default true). */
  verbose?: boolean;
  log?: (msg: string) => void;
  /** Backend of every CLI (default blas, which falls back to reference with a warning). */
  backend?: "blas" | "reference";
}

/** Run every step (see the module documentation). */
export async function runDemo(opts: RunDemoOptions): Promise<DemoRun> {
  const t0 = performance.now();
  const { dir, config } = opts;
  const log = opts.log ?? ((m: string) => console.error(m));
  const backend = opts.backend ?? "blas";
  const verbose = opts.verbose ?? true;
  const run = (task: string, args: string[], quiet = false) =>
    runTask(task, args, { passStderr: verbose && !quiet });
  const runs: TaskRun[] = [];
  await Deno.mkdir(dir, { recursive: true });

  // ---- scenes ---------------------------------------------------------------------------------------------
  const scenesDir = join(dir, "scenes");
  let manifest = await readSceneManifest(scenesDir);
  const want = config.scenes;
  const reuse = manifest !== undefined && manifest.version === SCENES_VERSION &&
    manifest.images === want.images &&
    manifest.seed === want.seed && manifest.questionsPerImage === want.questionsPerImage;
  if (reuse) log(`demo: reusing the scene set in ${scenesDir}`);
  else {
    log(`demo: making ${want.images} scenes in ${scenesDir}`);
    runs.push(
      await run("make-scenes", [
        "--out",
        scenesDir,
        "--images",
        String(want.images),
        "--seed",
        String(want.seed),
        "--questions-per-image",
        String(want.questionsPerImage),
      ]),
    );
    manifest = await readSceneManifest(scenesDir);
    if (!manifest) throw new Error(`make-scenes wrote no manifest in ${scenesDir}`);
  }
  const S = (rel: string) => join(scenesDir, rel);
  const F = SCENE_FILES;

  // ---- model size, untrained baselines --------------------------------------------------------------------
  for (const stage of ["untrained", "pretrain", "caption", "vqa", "results"]) {
    await Deno.remove(join(dir, stage), { recursive: true }).catch(() => {});
  }
  const bertConfig = join(dir, "bert_config.json");
  const bert = {
    vocab_size: await countLines(S(F.vocab)),
    hidden_act: "gelu",
    ...config.model,
    num_answers: await countLines(S(F.answers)),
  };
  await writeTextAtomic(bertConfig, JSON.stringify(bert, null, 2) + "\n");
  const modelConfig = await readBertConfig(bertConfig);
  await Deno.mkdir(join(dir, "untrained"), { recursive: true });
  const untrainedCaption = join(dir, "untrained", "model.0.bin");
  const untrainedVqa = join(dir, "untrained", "vqa_model.0.bin");
  const cpu = createBackend("reference");
  await saveCheckpoint(
    await createModel({ config: modelConfig, backend: cpu, task: "img2txt", seed: config.seed }),
    untrainedCaption,
  );
  await saveCheckpoint(
    await createModel({ config: modelConfig, backend: cpu, task: "vqa2", seed: config.seed }),
    untrainedVqa,
  );

  const common = [
    "--config_path",
    bertConfig,
    "--vocab",
    S(F.vocab),
    "--do_lower_case",
    "--dataset",
    "coco",
    "--image_root",
    S(F.imageRoot),
    "--enable_butd",
    "--new_segment_ids",
    "--backend",
    backend,
    "--threads",
    String(config.threads),
  ];
  const trainArgs = (out: string, s: DemoConfig["pretrain"]) => [
    ...common,
    "--output_dir",
    out,
    "--num_train_epochs",
    String(s.epochs),
    "--learning_rate",
    String(s.learningRate),
    "--train_batch_size",
    String(s.batchSize),
    "--mask_prob",
    String(s.maskProb),
    "--max_pred",
    String(s.maxPred),
    "--always_truncate_tail",
    "--drop_prob",
    String(config.model.hidden_dropout_prob),
    "--seed",
    String(config.seed),
    ...(s.warmup === undefined ? [] : ["--warmup_proportion", String(s.warmup)]),
    ...(s.schedule === undefined ? [] : ["--sche_mode", s.schedule]),
  ];
  const captionData = ["--src_file", S(F.karpathy), "--split", "train", "--file_valid_jpgs", S(F.validJpgs)];

  // ---- pre-training (VLP's CC recipe: seq2seq 0.75 / bidirectional 0.25) ----------------------------------
  log("demo: pre-training (masked LM, seq2seq 0.75 / bidirectional 0.25)");
  const pre = await run("train", [
    ...trainArgs(join(dir, "pretrain"), config.pretrain),
    ...captionData,
    "--tasks",
    "img2txt",
    "--s2s_prob",
    "0.75",
    "--bi_prob",
    "0.25",
  ]);
  runs.push(pre);
  const preCkpt = join(dir, "pretrain", `model.${config.pretrain.epochs}.bin`);

  // ---- the two fine-tunings, both from the pre-trained weights: in parallel on 2+ cores ---------------------
  // Each command uses one BLAS thread (config.threads) and a loader Worker, so two of them share 2 cores
  // well; the caption branch then runs quietly (its stderr is kept for error messages).
  const parallel = config.threads === 1 && navigator.hardwareConcurrency >= 2;
  await Deno.mkdir(join(dir, "results"), { recursive: true });
  const captionFiles = {
    trained: join(dir, "results", "captions_test_trained.json"),
    untrained: join(dir, "results", "captions_test_untrained.json"),
  };

  /** Caption fine-tuning (seq2seq), then beam search on the test scenes with both models. */
  const captionBranch = async (quiet: boolean) => {
    const out: TaskRun[] = [];
    log(`demo: caption fine-tuning (seq2seq)${quiet ? ", in parallel with VQA fine-tuning" : ""}`);
    out.push(
      await run("train", [
        ...trainArgs(join(dir, "caption"), config.caption),
        ...captionData,
        "--tasks",
        "img2txt",
        "--s2s_prob",
        "1",
        "--bi_prob",
        "0",
        "--model_recover_path",
        preCkpt,
        "--val_split",
        "val",
      ], quiet),
    );
    const decode = async (ckpt: string, file: string) => {
      log(`demo: captioning the test scenes (beam ${config.beamSize}) with ${ckpt}`);
      const r = await run("decode", [
        ...common.filter((a) => a !== "--do_lower_case"),
        "--model_recover_path",
        ckpt,
        "--src_file",
        S(F.karpathy),
        "--split",
        "test",
        "--ref_file",
        S(F.captionRefs.test),
        "--beam_size",
        String(config.beamSize),
        "--batch_size",
        "25",
        "--output_file",
        file,
      ], quiet);
      out.push(r);
      return r.figures as { metrics: Record<string, number>; unavailable?: Record<string, string> };
    };
    const capCkpt = join(dir, "caption", `model.${config.caption.epochs}.bin`);
    const trained = await decode(capCkpt, captionFiles.trained);
    const untrained = await decode(untrainedCaption, captionFiles.untrained);
    return { runs: out, trained, untrained };
  };

  /** VQA fine-tuning (bidirectional, `--mask_prob 0 --max_pred 1`), then the test answers of both models. */
  const vqaBranch = async () => {
    const out: TaskRun[] = [];
    log("demo: VQA fine-tuning (bidirectional, --mask_prob 0 --max_pred 1)");
    out.push(
      await run("train", [
        ...trainArgs(join(dir, "vqa"), config.vqa),
        "--tasks",
        "vqa2",
        "--src_file",
        S(F.imdb.train),
        "--answer_vocab",
        S(F.answers),
        "--s2s_prob",
        "0",
        "--bi_prob",
        "1",
        "--model_recover_path",
        preCkpt,
        "--val_src_file",
        S(F.imdb.val),
      ]),
    );
    const evalVqa = async (ckpt: string) => {
      log(`demo: answering the test questions with ${ckpt}`);
      const r = await run("eval-vqa2", [
        ...common,
        "--model_recover_path",
        ckpt,
        "--src_file",
        S(F.imdb.test),
        "--split",
        "test",
        "--ref_file",
        S(F.vqaAnnotations.test),
        "--answer_vocab",
        S(F.answers),
        "--output_dir",
        join(dir, "results"),
        "--batch_size",
        "25",
      ]);
      out.push(r);
      return vqaFigures(r);
    };
    const trained = await evalVqa(join(dir, "vqa", `model.${config.vqa.epochs}.bin`));
    const untrained = await evalVqa(untrainedVqa);
    return { runs: out, trained, untrained };
  };

  let cap: Awaited<ReturnType<typeof captionBranch>>, vqa: Awaited<ReturnType<typeof vqaBranch>>;
  if (parallel) {
    // wait for both before reporting a failure, so that no command is left running
    const [c, v] = await Promise.allSettled([captionBranch(true), vqaBranch()]);
    if (c.status === "rejected") throw c.reason;
    if (v.status === "rejected") throw v.reason;
    [cap, vqa] = [c.value, v.value];
  } else {
    cap = await captionBranch(false);
    vqa = await vqaBranch();
  }
  runs.push(...cap.runs, ...vqa.runs);

  return {
    dir,
    config,
    manifest: manifest!,
    scenesReused: reuse,
    runs,
    parallel,
    trained: {
      captions: cap.trained.metrics,
      unavailable: cap.trained.unavailable ?? {},
      vqa: vqa.trained.scores,
    },
    untrained: {
      captions: cap.untrained.metrics,
      unavailable: cap.untrained.unavailable ?? {},
      vqa: vqa.untrained.scores,
    },
    files: {
      scenes: scenesDir,
      captions: captionFiles,
      answers: { trained: vqa.trained.resultsFile, untrained: vqa.untrained.resultsFile },
      logs: {
        pretrain: join(dir, "pretrain", "train_log.jsonl"),
        caption: join(dir, "caption", "train_log.jsonl"),
        vqa: join(dir, "vqa", "train_log.jsonl"),
      },
    },
    backend: String(pre.figures.backend ?? backend),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The accuracy and results file of an `eval-vqa2` run (one checkpoint). */
function vqaFigures(r: TaskRun): { scores: ModelScores["vqa"]; resultsFile: string } {
  const list = r.figures.checkpoints as Record<string, unknown>[] | undefined;
  const one = list?.[0];
  const acc = one?.accuracy as Record<string, unknown> | undefined;
  if (!one || !acc || typeof acc.overall !== "number" || typeof one.results_file !== "string") {
    throw new TypeError(`"${r.command}" printed no accuracy: ${JSON.stringify(r.figures).slice(0, 300)}`);
  }
  return {
    scores: {
      overall: acc.overall,
      perAnswerType: (acc.perAnswerType ?? {}) as Record<string, number>,
    },
    resultsFile: one.results_file,
  };
}
