/**
 * `deno task eval-vqa2`: VLP's `eval_vqa2.py` — answer every question of a Pythia imdb file with a VQA
 * checkpoint (nothing masked, bidirectional mask, answer = argmax over logits[1:] + 1) and write
 * `<output_dir>/vqa2-results-<checkpoint folder>-<split>-<epoch>.json` in the official results format
 * `[{"question_id", "answer"}]` (atomically). With annotations (`--ref_file`, the official
 * `v2_mscoco_*_annotations.json`) or answers in the imdb, the accuracy is computed with the official rules
 * (`@vlp/eval`) and printed; for test2015 the file is for the evaluation server. `--model_recover_path` may
 * be a glob (every match is evaluated, as the original). Progress on stderr; stdout ends with ONE JSON line.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { z } from "zod";
import { parseVqaAnnotations, vqaAccuracy, type VqaQuestion } from "@vlp/eval";
import { writeTextAtomic } from "@vlp/io";
import { loadAnswerVocab, loadVqaImdb } from "@vlp/features";
import { vqaExamples } from "../examples.ts";
import { BatchLoader } from "../loader.ts";
import { vqaAnswerIndices } from "../validation.ts";
import { type Command, integer, startCommand, userPath } from "@vlp/command";
import { commonShape, createRunModel, loadModelSetup, regionOptions } from "./setup.ts";
import { EVAL_SEED, MAX_TGT_LENGTH, type VlpConfig } from "@vlp/model";
import { EXECUTION_PROVIDERS, type ExecutionProvider, OnnxModel } from "@vlp/onnx";

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

const log = (line: string) => console.error(line);

/** The original's results file name: vqa2-results-<checkpoint folder>-<split>-<epoch>.json. */
export function resultsFileName(checkpoint: string, split: string): string {
  const parts = basename(checkpoint).split(".");
  const epoch = parts.length >= 2 ? parts[parts.length - 2] : parts[0];
  return `vqa2-results-${basename(dirname(resolve(checkpoint)))}-${split}-${epoch}.json`;
}

/** Files matching a path whose last component may hold `*` and `?` (the original's `glob.glob`), sorted. */
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
    for await (const e of Deno.readDir(dir)) if (e.isFile && re.test(e.name)) out.push(join(dir, e.name));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/** An ONNX export for the VQA head, checked against the configuration the data pipeline uses. */
async function loadOnnx(dir: string, f: z.infer<typeof Flags>, config: VlpConfig): Promise<OnnxModel> {
  const onnx = await OnnxModel.load(dir, { executionProvider: f.onnx_ep, threads: f.threads });
  const c = onnx.config;
  if (onnx.manifest.task !== "vqa2") {
    throw new RangeError(`"${dir}" was exported for ${onnx.manifest.task}, not vqa2`);
  }
  if (
    c.regions !== config.regions || c.vocabSize !== config.vocabSize || c.numAnswers !== config.numAnswers
  ) {
    throw new RangeError(
      `"${dir}" is for R ${c.regions}, V ${c.vocabSize}, A ${c.numAnswers}, not the configuration's ` +
        `(R ${config.regions}, V ${config.vocabSize}, A ${config.numAnswers})`,
    );
  }
  log(`${dir}: onnxruntime-web on ${onnx.runtime.executionProvider}, ${onnx.runtime.threads} thread(s)`);
  return onnx;
}

const CMD: Command<z.infer<typeof Flags>> = { name: "eval-vqa2", usage: USAGE, flags: Flags };

async function main(f: z.infer<typeof Flags>): Promise<void> {
  const t0 = performance.now();
  const { tokenizer, config, ids } = await loadModelSetup(f);
  const regions = regionOptions(f, config);
  const src = userPath(f.src_file);
  const imdb = await loadVqaImdb(src);
  const examples = vqaExamples([imdb], tokenizer);
  const vocab = await loadAnswerVocab(userPath(f.answer_vocab), config.numAnswers);
  if (examples.exampleImage.length === 0) throw new RangeError(`"${src}" has no questions`);

  // the ground truth: official annotations, else the imdb's own answers (when every question has them)
  let truth: VqaQuestion[] | null = null;
  if (f.split === "test2015") {
    log("test2015: no annotations; submit the results file to the VQA evaluation server (EvalAI)");
  } else if (f.ref_file) {
    const p = userPath(f.ref_file);
    truth = parseVqaAnnotations(await Deno.readTextFile(p), p);
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
  const onnx = f.engine === "onnx" ? await loadOnnx(userPath(f.onnx_dir!), f, config) : null;
  const pattern = userPath(f.model_recover_path ?? f.onnx_dir!);
  const checkpoints = onnx ? [pattern] : await globFiles(pattern);
  if (checkpoints.length === 0) {
    throw new RangeError(`There are no models to recover: nothing matches "${pattern}"`);
  }
  const outDir = userPath(f.output_dir);
  await Deno.mkdir(outDir, { recursive: true });

  const loader = new BatchLoader({
    examples,
    regions,
    pipeline: {
      R: config.regions,
      maxLenB: f.max_tgt_length,
      maxPred: 0,
      maskProb: 0,
      newSegmentIds: f.new_segment_ids,
      alwaysTruncateTail: true,
      vocabSize: config.vocabSize,
      special: ids,
    },
    s2sProb: 0,
    answerWords: [...vocab.words],
    batchSize: f.batch_size,
    seed: f.seed,
    numWorkers: f.num_workers,
  });
  const outputs: Record<string, unknown>[] = [];
  try {
    for (const ckpt of checkpoints) {
      const model = onnx ?? await createRunModel(f, config, "vqa2", ckpt, log);
      const te = performance.now();
      let last = 0;
      const idx = await vqaAnswerIndices(model, loader, (done, total) => {
        if (performance.now() - last > 2000 || done === total) {
          last = performance.now();
          log(
            `${done}/${total} questions, ${
              (done / ((performance.now() - te) / 1000)).toFixed(1)
            } questions/s`,
          );
        }
      });
      const seconds = (performance.now() - te) / 1000;
      const predictions = imdb.questions.map((q, i) => ({
        question_id: q.question_id,
        answer: vocab.words[idx[i]],
      }));
      const out = join(outDir, resultsFileName(ckpt, f.split));
      await writeTextAtomic(out, JSON.stringify(predictions) + "\n");
      log(`wrote ${predictions.length} answers to ${out}`);
      let accuracy: Record<string, unknown> | null = null;
      if (truth) {
        const known = new Set(truth.map((q) => q.question_id));
        const results = new Map(
          predictions.filter((p) => known.has(p.question_id)).map((p) => [p.question_id, p.answer]),
        );
        const r = vqaAccuracy(truth.filter((q) => results.has(q.question_id)), results);
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
  console.log(
    JSON.stringify({ split: f.split, checkpoints: outputs, seconds: (performance.now() - t0) / 1000 }),
  );
}

if (import.meta.main) await main(startCommand(CMD));
