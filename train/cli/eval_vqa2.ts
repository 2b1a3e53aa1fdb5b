/**
 * `deno task eval-vqa2`: VLP's `eval_vqa2.py` — answer every question of a Pythia imdb file with a VQA
 * checkpoint (nothing masked, bidirectional mask, answer = argmax over logits[1:] + 1) and write
 * `<output_dir>/vqa2-results-<checkpoint folder>-<split>-<epoch>.json` in the official results format
 * `[{"question_id", "answer"}]` (atomically). With annotations (`--ref_file`, the official
 * `v2_mscoco_*_annotations.json`) or answers in the imdb, the accuracy is computed with the official rules
 * (`@vlp/eval`) and printed; for test2015 the file is for the evaluation server. `--model_recover_path` may
 * be a glob (every match is evaluated, as the original). Everything that can be checked is checked before the
 * first batch (see `prepare`): every checkpoint holds the whole model (no random VQA head), no results file
 * is an input or another's, the annotations cover the questions, every image's region arrays are sound.
 * Progress on stderr; stdout ends with ONE JSON line. Under `mpirun -np N` the ranks share the batches
 * (rank r answers r, r + N, …), every rank receives every answer, and rank 0 writes the files and the line; a
 * rank that fails calls MPI_Abort.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { parseVqaAnnotations, vqaAccuracy, type VqaQuestion } from "@vlp/eval";
import { removeStaleTemporaries, writeTextAtomic } from "@vlp/io";
import { loadAnswerVocab, loadVqaImdb, type RegionLayout } from "@vlp/features";
import { assertRegionsSound, regionFiles } from "@vlp/decode";
import { EVAL_SEED, loadCheckpoint, MAX_TGT_LENGTH, openBackend, VlpModel } from "@vlp/model";
import {
  checkExportConfig,
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
  MANIFEST_FILE,
  type OnnxManifest,
  OnnxModel,
  readOnnxManifest,
} from "@vlp/onnx";
import {
  checkOutputDir,
  type Command,
  integer,
  readText,
  refuseOverwritingInputs,
  startCommand,
  userPath,
} from "@vlp/command";
import type { World } from "../dist/world.ts";
import { runOnEveryRank } from "../dist/run_ranks.ts";
import { openRankBackend } from "../dist/gpu_select.ts";
import { vqaExamples } from "../examples.ts";
import { vqaAnswerIndices, vqaInferenceLoader } from "../validation.ts";
import { commonShape, loadModelSetup, regionOptions } from "./setup.ts";

const USAGE =
  `Usage: deno task eval-vqa2 --model_recover_path CKPT --src_file imdb_val2014.npy --vocab VOCAB.txt
                          --image_root DIR --answer_vocab answers_vqa.txt --enable_butd [options]
  --model_recover_path P   VQA checkpoint(s) (model.{epoch}.bin); a glob evaluates each match
  --engine E               model | onnx (default model: our engine on --backend)
  --onnx_dir DIR           with --engine onnx: a \`deno task export-onnx --task vqa2\` directory, run by
                           onnxruntime-web (--model_recover_path then only names the results file)
  --onnx_ep P              with --engine onnx: wasm | webgpu | auto (default wasm); --threads: wasm threads
  --src_file F             Pythia imdb .npy of the questions
  --split S                name of the split in the results file (default val); test2015: no scoring
  --ref_file F             official VQA annotations JSON for scoring (default: the imdb's answers, if any)
  --answer_vocab F         the answer list the model was trained with (line 0 <unk>)
  --output_dir DIR         where the results file goes (default tmp)
  --batch_size B           questions per batch (default 4)
  --max_tgt_length N       question wordpieces at most (default ${MAX_TGT_LENGTH})
  --vocab F, --do_lower_case, --config_path F, --drop_prob P, --new_segment_ids, --len_vis_input R,
  --dataset D, --image_root DIR, --region_det_file_prefix P, --region_bbox_file F,
  --backend NAME, --threads N, --num_workers N, --seed N, --max_position_embeddings N   as for train
Accepted for the original's command lines: --file_valid_jpgs, --beam_size, --amp.`;

const Flags = z.object({
  ...commonShape,
  seed: integer().default(EVAL_SEED),
  model_recover_path: z.string().min(1).optional(),
  engine: z.enum(["model", "onnx"]).default("model"),
  onnx_dir: z.string().min(1).optional(),
  onnx_ep: z.enum(EXECUTION_PROVIDERS as [ExecutionProvider | "auto", ...ExecutionProvider[]]).default(
    "wasm",
  ),
  src_file: z.string({ required_error: "is required (a Pythia imdb .npy)" }).min(1),
  split: z.string().min(1).default("val"),
  ref_file: z.string().min(1).optional(),
  answer_vocab: z.string({ required_error: "is required (the answer list, line 0 <unk>)" }).min(1),
  output_dir: z.string().min(1).default("tmp"),
  batch_size: integer(1).default(4),
  max_tgt_length: integer(1).default(MAX_TGT_LENGTH),
  file_valid_jpgs: z.string().optional(),
  beam_size: z.string().optional(),
  amp: z.boolean().optional(),
  fp16: z.boolean().optional().refine((v) => !v, { message: "is not supported: evaluation runs in float32" }),
}).refine((f) => (f.engine === "onnx" ? f.onnx_dir : f.model_recover_path), {
  message: "is required (the VQA checkpoint; with --engine onnx, --onnx_dir)",
  path: ["model_recover_path"],
});

let log = (line: string) => console.error(line);

/** The original's results file name: vqa2-results-<checkpoint folder>-<split>-<epoch>.json. */
export function resultsFileName(checkpoint: string, split: string): string {
  const parts = basename(checkpoint).split(".");
  const epoch = parts.length >= 2 ? parts[parts.length - 2] : parts[0];
  return `vqa2-results-${basename(dirname(resolve(checkpoint)))}-${split}-${epoch}.json`;
}

/**
 * Files matching a path whose last component may hold `*` and `?` (the original's `glob.glob`), sorted. As
 * `glob.glob`, a wildcard never matches a name starting with "." (hidden files, atomic writes' temporaries)
 * unless the pattern starts with ".".
 */
export async function globFiles(pattern: string): Promise<string[]> {
  const dir = dirname(pattern), name = basename(pattern);
  if (!/[*?]/.test(name)) {
    try {
      return (await Deno.stat(pattern)).isFile ? [pattern] : [];
    } catch {
      return [];
    }
  }
  const re = new RegExp(
    "^" + name.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".") + "$",
  );
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && re.test(e.name) && (!e.name.startsWith(".") || name.startsWith("."))) {
        out.push(join(dir, e.name));
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** The export for the VQA head (its manifest: the configuration that runs). */
async function readVqaExport(dir: string): Promise<OnnxManifest> {
  const manifest = await readOnnxManifest(dir);
  if (manifest.task !== "vqa2") {
    throw new RangeError(`"${dir}" was exported for ${manifest.task}, not vqa2 (export-onnx --task vqa2)`);
  }
  return manifest;
}

/** What a checkpoint lacks, in words: its VQA head, or the first missing tensors. */
function describeMissing(missing: readonly string[]): string {
  const head = missing.filter((k) => k.startsWith("ans_classifier."));
  const list = (ks: readonly string[]) => ks.slice(0, 4).join(", ") + (ks.length > 4 ? ", ..." : "");
  if (head.length === missing.length) {
    return `no VQA head (${list(head)}): a captioning or pre-training checkpoint? Fine-tune it with ` +
      "train --tasks vqa2 first";
  }
  return `no ${list(missing)} (${missing.length} tensors)`;
}

/**
 * Load a VQA checkpoint with `from_pretrained`'s rules, refusing one that lacks any of the model's tensors:
 * the original fills those with a random init and answers from it, with only a warning.
 */
async function loadVqaCheckpoint(model: VlpModel, path: string): Promise<void> {
  const r = await loadCheckpoint(model, path, { mode: "pretrained" });
  if (r.missing.length) {
    throw new RangeError(`Cannot evaluate checkpoint "${path}": it has ${describeMissing(r.missing)}`);
  }
  log(`loaded ${r.loaded.length} tensors from ${path}`);
  if (r.ignored.length) log(`  in the file, not used: ${r.ignored.join(", ")}`);
  for (const a of r.adapted) log(`  adapted: ${a}`);
}

/** The questions of `truth` that `questionIds` holds; none is an error (there would be nothing to score). */
function scoredTruth(truth: VqaQuestion[], questionIds: number[], src: string, from: string): VqaQuestion[] {
  const ids = new Set(questionIds);
  const kept = truth.filter((q) => ids.has(q.question_id));
  if (kept.length === 0) {
    throw new RangeError(
      `${from} has none of the ${ids.size} questions of "${src}": there is nothing to score ` +
        "(another split's annotations?)",
    );
  }
  if (kept.length < ids.size) log(`note: ${from} covers ${kept.length} of the ${ids.size} questions`);
  return kept;
}

const CMD: Command<z.infer<typeof Flags>> = { name: "eval-vqa2", usage: USAGE, flags: Flags };

type Flags = z.infer<typeof Flags>;

/** Check every input and output before the first batch (see the module doc). */
async function prepare(f: Flags, world: World) {
  const onnxDir = f.engine === "onnx" ? userPath(f.onnx_dir!) : undefined;
  const manifest = onnxDir ? await readVqaExport(onnxDir) : null;
  const setup = await loadModelSetup(
    f,
    manifest ? { config: manifest.config, name: `the export "${onnxDir}"` } : undefined,
  );
  const config = manifest
    ? checkExportConfig(
      manifest,
      onnxDir!,
      setup.config,
      f.config_path
        ? `--config_path "${userPath(f.config_path)}"`
        : "--len_vis_input / --max_position_embeddings",
    )
    : setup.config;
  const regions = regionOptions(f, config);
  const src = userPath(f.src_file);
  const imdb = await loadVqaImdb(src);
  const examples = vqaExamples([imdb], setup.tokenizer);
  const answerVocab = userPath(f.answer_vocab);
  const vocab = await loadAnswerVocab(answerVocab, config.numAnswers);
  if (examples.exampleImage.length === 0) throw new RangeError(`"${src}" has no questions`);

  // the ground truth: official annotations, else the imdb's own answers (when every question has them)
  let truth: VqaQuestion[] | null = null;
  if (f.split === "test2015") {
    log("test2015: no annotations; submit the results file to the VQA evaluation server (EvalAI)");
  } else if (f.ref_file) {
    const p = userPath(f.ref_file);
    const all = parseVqaAnnotations(await readText(p, "annotations"), p);
    truth = scoredTruth(all, imdb.questions.map((q) => q.question_id), src, `--ref_file "${p}"`);
  } else if (imdb.questions.every((q) => q.answers && q.answers.length > 0)) {
    truth = imdb.questions.map((q) => ({
      question_id: q.question_id,
      question_type: "",
      answer_type: "",
      answers: q.answers!,
    }));
  } else {
    log(`note: "${src}" has no answers and no --ref_file was given: not scoring`);
  }

  // with the onnx engine the export is the model; the checkpoint path (default: the export) names the file
  const pattern = userPath(f.model_recover_path ?? f.onnx_dir!);
  const checkpoints = manifest ? [pattern] : await globFiles(pattern);
  if (checkpoints.length === 0) {
    throw new RangeError(`There are no models to recover: nothing matches "${pattern}"`);
  }

  // the outputs: never an input (nor each other), their folder writable with room
  const outDir = userPath(f.output_dir);
  const files = checkpoints.map((ckpt) => join(outDir, resultsFileName(ckpt, f.split)));
  const { dataset, imageRoot } = regions;
  const layout = regions.layout as RegionLayout;
  const regionImages = examples.imageIds.map((imgId, i) => ({ imgId, filepath: examples.imageDirs[i] }));
  const given = (name: string, v: string | undefined) => (v ? [{ name, path: userPath(v) }] : []);
  await refuseOverwritingInputs(files.map((path) => ({ name: "--output_dir (results file)", path })), [
    ...(manifest ? [] : checkpoints.map((path) => ({ name: "--model_recover_path", path }))),
    ...given("--config_path", f.config_path),
    ...given("--vocab", f.vocab),
    { name: "--src_file", path: src },
    { name: "--answer_vocab", path: answerVocab },
    ...given("--ref_file", f.ref_file),
    ...(manifest
      ? [MANIFEST_FILE, manifest.files.encoder, manifest.files.decoder].map((n) => ({
        name: "--onnx_dir",
        path: join(onnxDir!, n),
      }))
      : []),
    { name: "--image_root", path: imageRoot },
    ...regionFiles(regionImages, { dataset, imageRoot, layout }).map((path) => ({
      name: "--image_root (a region file)",
      path,
    })),
  ]);
  await checkOutputDir(outDir, "--output_dir", {
    create: true,
    bytes: checkpoints.length * (64 + 80 * imdb.questions.length),
  });

  // every image's region arrays, as the loader will read them
  log(`checking the region features of ${examples.imageIds.length} images under ${imageRoot}`);
  await assertRegionsSound(
    regionImages,
    { dataset, imageRoot, layout, dims: regions.dims! },
    "nothing evaluated",
  );

  // every checkpoint holds the whole model, the VQA head included (the first is left loaded)
  let model: VlpModel | OnnxModel;
  if (manifest) {
    const onnx = await OnnxModel.load(onnxDir!, { executionProvider: f.onnx_ep, threads: f.threads });
    log(
      `${onnxDir}: onnxruntime-web on ${onnx.runtime.executionProvider}, ${onnx.runtime.threads} thread(s)`,
    );
    model = onnx;
  } else {
    const backend = await openRankBackend(
      world,
      f.backend,
      () => openBackend(f.backend, { threads: f.threads }),
      log,
    );
    log(`${backend.name} backend`);
    model = new VlpModel({ config, task: "vqa2", backend, seed: f.seed, noInit: true });
    for (const ckpt of [...checkpoints.slice(1), checkpoints[0]]) await loadVqaCheckpoint(model, ckpt);
  }
  await Deno.mkdir(outDir, { recursive: true });
  if (world.rank === 0) await removeStaleTemporaries(outDir);
  return { config, regions, examples, vocab, imdb, truth, checkpoints, files, model, ids: setup.ids };
}

async function main(f: Flags, world: World): Promise<void> {
  const t0 = performance.now();
  if (world.rank > 0) log = () => {}; // rank 0 reports; the others only their errors
  const { config, regions, examples, vocab, imdb, truth, checkpoints, files, model, ids } = await prepare(
    f,
    world,
  );
  const loader = vqaInferenceLoader({
    examples,
    regions,
    config,
    maxLenB: f.max_tgt_length,
    newSegmentIds: f.new_segment_ids,
    special: ids,
    answerWords: vocab.words,
    batchSize: f.batch_size,
    seed: f.seed,
    numWorkers: f.num_workers,
  });
  const outputs: Record<string, unknown>[] = [];
  try {
    for (const [c, ckpt] of checkpoints.entries()) {
      if (c > 0 && model instanceof VlpModel) await loadVqaCheckpoint(model, ckpt);
      const te = performance.now();
      let last = 0;
      const idx = await vqaAnswerIndices(model, loader, (done, total) => {
        if (performance.now() - last > 2000 || done === total) {
          last = performance.now();
          log(
            `${done}/${total} questions, ${
              (done / ((performance.now() - te) / 1000)).toFixed(1)
            } questions/s${world.size > 1 ? ` (rank 0 of ${world.size})` : ""}`,
          );
        }
      }, world);
      const seconds = (performance.now() - te) / 1000;
      const predictions = imdb.questions.map((q, i) => ({
        question_id: q.question_id,
        answer: vocab.words[idx[i]],
      }));
      const out = files[c];
      if (world.rank === 0) await writeTextAtomic(out, JSON.stringify(predictions) + "\n");
      log(`wrote ${predictions.length} answers to ${out}`);
      let accuracy: Record<string, unknown> | null = null;
      if (truth) {
        const scored = new Set(truth.map((q) => q.question_id)); // the annotations may cover a part
        const results = new Map(
          predictions.filter((p) => scored.has(p.question_id)).map((p) => [p.question_id, p.answer]),
        );
        const r = vqaAccuracy(truth, results);
        accuracy = { overall: r.overall, perAnswerType: r.perAnswerType };
        log(`overall accuracy: ${r.overall}`);
        for (const [k, v] of Object.entries(r.perAnswerType)) if (k) log(`  ${k}: ${v}`);
      }
      outputs.push({
        checkpoint: ckpt,
        results_file: out,
        questions: predictions.length,
        seconds,
        questions_per_s: predictions.length / seconds,
        accuracy,
      });
    }
  } finally {
    await loader.close();
  }
  if (world.rank > 0) return;
  console.log(
    JSON.stringify({ split: f.split, checkpoints: outputs, seconds: (performance.now() - t0) / 1000 }),
  );
}

if (import.meta.main) await runOnEveryRank(CMD.name, startCommand(CMD), main);
