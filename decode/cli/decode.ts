/**
 * `deno task decode`: VLP's `decode_img2txt.py` — caption every image of a Karpathy split with a checkpoint
 * (greedy for `--beam_size 1`, beam search otherwise), write the COCO results file
 * `[{"image_id", "caption"}]` atomically, and, when references exist, score it with `@vlp/eval` and print the
 * metrics table. Every input and the output are checked before the first batch: the configuration (with
 * `--engine onnx`: the export's manifest, which a contradicting `--config_path` cannot override), the
 * vocabulary, the split (non-empty, no image id twice), the output (never one of the inputs, its folder
 * writable with room for the results), every image's region arrays (present, well shaped, float, finite,
 * sensible boxes), the references and Meteor tables, the checkpoint. Temporary files a killed run left in the
 * output folder are removed. Progress (images/s) and the table go to stderr; stdout ends with ONE JSON line
 * of figures. Exit code 1 on bad inputs, 2 on bad flags (an output that is an input included).
 *
 * See decode/README.md for the flags.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  checkOutputFile,
  type Command,
  readText,
  refuseOverwritingInputs,
  startCommand,
  UsageError,
  userPath,
} from "@vlp/command";
import { removeStaleTemporaries } from "@vlp/io";
import {
  type CaptionDataset,
  DEFAULT_LAYOUTS,
  evalImageId,
  featureDir,
  featureId,
  type KarpathyImage,
  loadKarpathy,
  loadValidJpgs,
  type RegionDims,
  type RegionLayout,
  RegionReader,
  type Split,
  SPLITS,
} from "@vlp/features";
import {
  BACKEND_NAMES,
  type BackendName,
  BEAM_SIZE,
  bertBaseConfig,
  createModel,
  MAX_TGT_LENGTH,
  openBackend,
  parseConfig,
  readBertConfig,
  type VlpConfig,
  type VlpModel,
} from "@vlp/model";
import { Vocab } from "@vlp/tokenizer";
import { loadMeteorResources, type MeteorResources, parseReferences, scoreCaptions } from "@vlp/eval";
import {
  checkExportConfig,
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
  MANIFEST_FILE,
  type OnnxManifest,
  OnnxModel,
  readOnnxManifest,
} from "@vlp/onnx";
import { CaptionDecoder } from "../caption_decoder.ts";
import type { SpecialIds } from "../layout.ts";
import { type CaptionResult, captionText, writeCaptionResults } from "../captions.ts";
import { assertRegionsSound, regionFiles } from "../preflight.ts";
import { Progress } from "../progress.ts";

const USAGE =
  `Usage: deno task decode --model_recover_path CKPT --vocab VOCAB.txt --src_file dataset_coco.json
                        --image_root DIR [options]
  --model_recover_path F    VLP checkpoint (legacy or zip torch.save of a state_dict)
  --config_path F           BERT config JSON (bert_config.json); default BERT-base (cased, V 28996), or
                            with --engine onnx the export's (a config contradicting it is an error)
  --vocab F                 WordPiece vocabulary (the original takes it from --bert_model)
  --dataset D               coco | flickr30k | cc (default coco)
  --src_file F              Karpathy-split JSON (dataset_coco.json, ...)
  --split S                 train | restval | val | test (default val)
  --image_root DIR          root of the region features
  --region_det_file_prefix P   feature shard prefix under image_root (default: the data set's)
  --region_bbox_file F      merged bbox HDF5 under image_root (default: the data set's)
  --file_valid_jpgs F       *_valid_jpgs.json: which images have features (required for cc; as the
                            original, coco and flickr30k ignore it)
  --beam_size W             1 = greedy (default ${BEAM_SIZE})
  --length_penalty X        additive per-token bonus in beam search (default 0)
  --forbid_duplicate_ngrams  ban repeated n-grams in beam search
  --forbid_ignore_word W    words exempt from the ban, "w1|w2|[X]"
  --ngram_size N            n of the ban (default 3)
  --min_len N               [SEP] forbidden during the first N steps of beam search
  --max_tgt_length T        generated positions (default ${MAX_TGT_LENGTH})
  --batch_size B            images per batch (default 4)
  --output_file F           results JSON (default eval_results/<ckpt dir>-<split>-<epoch>_<split>.json)
  --ref_file F              references for scoring: a COCO caption annotation file or {"<id>": [captions]}
                            (default: the split's sentences in --src_file, when every image has some)
  --no_eval                 do not score
  --meteor_data DIR         Meteor tables (default ../shared/data/meteor beside the repository root)
  --meteor_paraphrase F     Meteor 1.5's paraphrase-en.gz: official METEOR (else METEOR_noparaphrase)
  --backend NAME            ${BACKEND_NAMES.join(" | ")} (default blas)
  --threads N               OpenBLAS threads (onnx engine: wasm threads)
  --engine E                model | onnx (default model: our engine on --backend)
  --onnx_dir DIR            with --engine onnx: a \`deno task export-onnx\` directory, run by onnxruntime-web
                            (--model_recover_path then only names the results file; default: DIR)
  --onnx_ep P               with --engine onnx: wasm | webgpu | auto (default wasm)
  --max_position_embeddings N   position table rows (default: the config's)
  --enable_butd, --new_segment_ids, --len_vis_input 100, --seed N
                            accepted for the original's command lines; region features and segment ids
                            4/5 are always used, and decoding draws no random numbers`;

/** Default Meteor tables: `../shared/data/meteor` beside the repository root. */
const DEFAULT_METEOR_DATA = fileURLToPath(new URL("../../../shared/data/meteor", import.meta.url));

const int = (min: number) => z.coerce.number().int().min(min);
const Flags = z.object({
  model_recover_path: z.string().min(1).optional(),
  config_path: z.string().min(1).optional(),
  vocab: z.string({ required_error: "--vocab is required (a WordPiece vocab.txt)" }).min(1),
  dataset: z.enum(["coco", "flickr30k", "cc"]).default("coco"),
  src_file: z.string({ required_error: "--src_file is required (a Karpathy-split JSON)" }).min(1),
  split: z.enum(SPLITS).default("val"),
  image_root: z.string({ required_error: "--image_root is required" }).min(1),
  region_det_file_prefix: z.string().optional(),
  region_bbox_file: z.string().min(1).optional(),
  file_valid_jpgs: z.string().default(""),
  beam_size: int(1).default(BEAM_SIZE),
  length_penalty: z.coerce.number().finite().default(0),
  forbid_duplicate_ngrams: z.boolean().default(false),
  forbid_ignore_word: z.string().optional(),
  ngram_size: int(1).default(3),
  min_len: int(0).optional(),
  max_tgt_length: int(1).default(MAX_TGT_LENGTH),
  batch_size: int(1).default(4),
  output_file: z.string().min(1).optional(),
  ref_file: z.string().min(1).optional(),
  no_eval: z.boolean().default(false),
  meteor_data: z.string().min(1).optional(),
  meteor_paraphrase: z.string().min(1).optional(),
  backend: z.enum(BACKEND_NAMES as [BackendName, ...BackendName[]]).default("blas"),
  threads: int(1).optional(),
  max_position_embeddings: int(1).optional(),
  enable_butd: z.boolean().optional(),
  new_segment_ids: z.boolean().optional(),
  len_vis_input: int(1).optional(),
  seed: z.coerce.number().int().optional(),
  engine: z.enum(["model", "onnx"]).default("model"),
  onnx_dir: z.string().min(1).optional(),
  onnx_ep: z.enum(EXECUTION_PROVIDERS as [ExecutionProvider | "auto", ...ExecutionProvider[]]).default(
    "wasm",
  ),
}).refine((f) => f.engine === "onnx" ? f.onnx_dir : f.model_recover_path, {
  message: "is required (--onnx_dir with --engine onnx, else --model_recover_path)",
  path: ["model_recover_path"],
});
type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = { name: "decode", usage: USAGE, flags: Flags };

/** Stop with a message: a usage error (exit 2) or a failure (exit 1), printed by `@vlp/command`. */
function fail(msg: string, code = 1): never {
  throw code === 2 ? new UsageError(msg) : new Error(msg);
}

/** `<image_root>`-relative layout entry from a flag (an absolute flag value is made relative, as os.path.join). */
function layoutEntry(imageRoot: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  return isAbsolute(value) ? relative(imageRoot, value) : value;
}

/** VLP's model id of a checkpoint path: `<parent dir>-<split>-<epoch>` (model.28.bin → epoch 28). */
function modelId(ckpt: string, split: string): string {
  const parts = basename(ckpt).split(".");
  const epoch = parts.length >= 2 ? parts[parts.length - 2] : parts[0];
  return `${basename(dirname(resolve(ckpt)))}-${split}-${epoch}`;
}

/** `forbid_ignore_word` ids: "w1|w2|[X]" with bracketed entries upper-cased, as the original. */
function ignoreIds(spec: string | undefined, vocab: Vocab): number[] {
  if (!spec) return [];
  return spec.split("|").map((w) => {
    const t = w.startsWith("[") && w.endsWith("]") ? w.toUpperCase() : w;
    const id = vocab.id(t);
    if (id === undefined) {
      fail(`--forbid_ignore_word: "${t}" is not in the vocabulary "${vocab.source}"`);
    }
    return id;
  });
}

/** The model configuration: `--config_path`, else the ONNX export's (with `--engine onnx`), else BERT-base. */
async function loadConfig(f: Flags, manifest: OnnxManifest | null): Promise<VlpConfig> {
  const configPath = f.config_path ? userPath(f.config_path) : undefined;
  const base = configPath ? await readBertConfig(configPath) : manifest ? manifest.config : bertBaseConfig;
  const config = f.max_position_embeddings
    ? parseConfig({ ...base, maxPositions: f.max_position_embeddings })
    : base;
  if (!manifest) return config;
  // the export is what runs: a configuration that contradicts it is an error, never ignored
  const source = configPath ? `--config_path "${configPath}"` : "--max_position_embeddings";
  return checkExportConfig(manifest, userPath(f.onnx_dir!), config, source);
}

/** Everything checked and loaded before decoding starts. */
interface Plan {
  f: Flags;
  config: VlpConfig;
  vocab: Vocab;
  ids: SpecialIds;
  forbidIgnoreIds: number[];
  dataset: CaptionDataset;
  images: KarpathyImage[];
  /** [images] evaluation ids */
  evalIds: number[];
  imageRoot: string;
  layout: RegionLayout;
  dims: RegionDims;
  refs: Map<string, string[]> | null;
  meteor?: MeteorResources;
  meteorMissingReason?: string;
  ckpt: string;
  outPath: string;
}

/** Bytes of a results file, generously: an image id and T wordpieces of up to 24 bytes each per image. */
function resultsBytes(images: number, T: number): number {
  return 64 + images * (48 + 24 * T);
}

/** An evaluation id that two images of the split share (the results would hold two captions for it). */
function duplicateId(images: KarpathyImage[], evalIds: number[]): string | null {
  const first = new Map<number, number>();
  for (let i = 0; i < evalIds.length; i++) {
    const j = first.get(evalIds[i]);
    if (j !== undefined) {
      return `image id ${evalIds[i]} belongs to "${images[j].filename}" and "${images[i].filename}"`;
    }
    first.set(evalIds[i], i);
  }
  return null;
}

/**
 * Check every input and the output (see the module doc), before any decoding: exits with a message on the
 * first problem, having written nothing.
 */
async function prepare(f: Flags): Promise<Plan> {
  if (f.len_vis_input !== undefined && f.len_vis_input !== 100) {
    fail(`--len_vis_input ${f.len_vis_input}: VLP with region features uses exactly 100 regions`, 2);
  }
  if (f.dataset === "cc" && f.file_valid_jpgs === "") {
    fail("--file_valid_jpgs is required for cc: it lists the images whose features exist", 2);
  }
  const onnxDir = f.engine === "onnx" ? userPath(f.onnx_dir!) : undefined;
  const manifest = onnxDir ? await readOnnxManifest(onnxDir) : null;
  const config = await loadConfig(f, manifest);
  const vocabPath = userPath(f.vocab);
  const vocab = await Vocab.load(vocabPath);
  if (vocab.size !== config.vocabSize) {
    const of = f.config_path
      ? ` "${userPath(f.config_path)}"`
      : manifest
      ? ` of "${onnxDir}"`
      : " (BERT-base)";
    fail(
      `vocabulary "${vocabPath}" has ${vocab.size} tokens but the model config${of} says vocab_size ${config.vocabSize}`,
    );
  }
  const special = (t: string) => vocab.id(t) ?? fail(`vocabulary "${vocabPath}" has no ${t} token`);
  const ids = {
    pad: special("[PAD]"),
    unk: special("[UNK]"),
    cls: special("[CLS]"),
    sep: special("[SEP]"),
    mask: special("[MASK]"),
  };

  const srcPath = userPath(f.src_file);
  const karpathy = await loadKarpathy(srcPath);
  let images = karpathy.images.filter((img) => img.split === (f.split as Split));
  if (f.dataset === "cc") {
    const valid = await loadValidJpgs(userPath(f.file_valid_jpgs));
    images = images.filter((img) => valid.has(img.filename));
  } else if (f.file_valid_jpgs !== "") {
    console.error(`note: --file_valid_jpgs is ignored for ${f.dataset} (as in the original)`);
  }
  if (images.length === 0) {
    const admitted = f.dataset === "cc" ? " admitted by the valid-jpgs file" : "";
    fail(`no images of split "${f.split}" in "${srcPath}"${admitted}`);
  }
  const dataset = f.dataset as CaptionDataset;
  const evalIds = images.map((img) => evalImageId(dataset, img, srcPath));
  const dup = duplicateId(images, evalIds);
  if (dup) fail(`"${srcPath}", split "${f.split}": ${dup}; the results would hold two captions for one id`);

  const imageRoot = userPath(f.image_root);
  const defaults = DEFAULT_LAYOUTS[dataset];
  const layout = {
    detFilePrefix: dataset === "flickr30k"
      ? ""
      : layoutEntry(imageRoot, f.region_det_file_prefix, defaults.detFilePrefix),
    bboxFile: layoutEntry(imageRoot, f.region_bbox_file, defaults.bboxFile),
  };
  const regionImages = images.map((img) => ({ imgId: featureId(img), filepath: featureDir(img) }));

  // the output: never one of the inputs, writable, with room; before any work
  const ckpt = userPath(f.model_recover_path ?? f.onnx_dir!);
  const outPath = f.output_file
    ? userPath(f.output_file)
    : userPath(join("eval_results", `${modelId(ckpt, f.split)}_${f.split}.json`));
  const given = (name: string, v: string | undefined) => (v ? [{ name, path: userPath(v) }] : []);
  await refuseOverwritingInputs([{ name: "--output_file", path: outPath }], [
    ...given("--model_recover_path", f.model_recover_path),
    ...given("--config_path", f.config_path),
    { name: "--vocab", path: vocabPath },
    { name: "--src_file", path: srcPath },
    ...given("--file_valid_jpgs", f.file_valid_jpgs),
    ...given("--ref_file", f.ref_file),
    ...given("--meteor_paraphrase", f.meteor_paraphrase),
    ...(manifest && onnxDir
      ? [MANIFEST_FILE, manifest.files.encoder, manifest.files.decoder].map((n) => ({
        name: "--onnx_dir",
        path: join(onnxDir, n),
      }))
      : []),
    { name: "--image_root", path: imageRoot },
    ...regionFiles(regionImages, { dataset, imageRoot, layout }).map((path) => ({
      name: "--image_root (a region file)",
      path,
    })),
  ]);
  await checkOutputFile(outPath, "--output_file", {
    bytes: resultsBytes(images.length, f.max_tgt_length),
    create: !f.output_file,
  });
  const forbidIgnoreIds = ignoreIds(f.forbid_ignore_word, vocab);

  let refs: Map<string, string[]> | null = null;
  if (!f.no_eval) {
    if (f.ref_file) {
      const refPath = userPath(f.ref_file);
      refs = parseReferences(await readText(refPath, "references"), refPath);
      // scoring nothing is an error, not a null metric after hours of decoding
      const covered = evalIds.filter((id) => refs!.has(String(id))).length;
      if (covered === 0) {
        fail(
          `--ref_file "${refPath}" has references for none of the ${images.length} images of split ` +
            `"${f.split}": there would be nothing to score (another split's references? --no_eval to skip scoring)`,
        );
      }
      if (covered < images.length) {
        console.error(
          `note: --ref_file covers ${covered} of the ${images.length} images; only those are scored`,
        );
      }
    } else if (images.every((img) => img.sentences.length > 0)) {
      refs = new Map(images.map((img, i) => [String(evalIds[i]), img.sentences.map((s) => s.raw)]));
    } else {
      console.error(`note: split "${f.split}" has images without sentences and no --ref_file: not scoring`);
    }
  }
  let meteor: MeteorResources | undefined, meteorMissingReason: string | undefined;
  if (refs) {
    const dir = f.meteor_data ? userPath(f.meteor_data) : DEFAULT_METEOR_DATA;
    const para = f.meteor_paraphrase ? userPath(f.meteor_paraphrase) : undefined;
    if (existsSync(join(dir, "english.synsets"))) meteor = await loadMeteorResources(dir, para);
    else if (f.meteor_data || para) fail(`Meteor tables not found: "${dir}" has no english.synsets`);
    else meteorMissingReason = `Meteor tables not found in ${dir} (pass --meteor_data DIR)`;
  }

  const dims = { R: config.regions, F: config.regionFeatureSize, K: config.regionGeometrySize - 6 };
  console.error(`checking the region features of ${images.length} ${f.split} images under ${imageRoot}`);
  await assertRegionsSound(regionImages, { dataset, imageRoot, layout, dims }, "nothing decoded");

  await Deno.mkdir(dirname(outPath), { recursive: true });
  await removeStaleTemporaries(dirname(outPath));
  return {
    f,
    config,
    vocab,
    ids,
    forbidIgnoreIds,
    dataset,
    images,
    evalIds,
    imageRoot,
    layout,
    dims,
    refs,
    meteor,
    meteorMissingReason,
    ckpt,
    outPath,
  };
}

/** Figures of a decode run. */
interface DecodeFigures {
  results: CaptionResult[];
  batches: number;
  steps: number;
  loadSeconds: number;
  decodeSeconds: number;
}

/** Caption every image of the plan, batch by batch, with a progress bar. */
async function decodeImages(p: Plan, model: VlpModel | OnnxModel): Promise<DecodeFigures> {
  const { f, images, config } = p;
  const B = Math.min(f.batch_size, images.length), W = f.beam_size, T = f.max_tgt_length;
  const source = model instanceof OnnxModel
    ? {
      config,
      engine: await model.decoder({ maxImages: B, maxWidth: W, maxLength: config.regions + 2 + T }),
    }
    : model;
  const dec = new CaptionDecoder(source, { maxImages: B, maxWidth: W, maxTgtLength: T, ids: p.ids });
  const reader = RegionReader.open({
    dataset: p.dataset,
    imageRoot: p.imageRoot,
    layout: p.layout,
    dims: p.dims,
  });
  const { regions: R, regionFeatureSize: F, regionGeometrySize: G } = config;
  const out: DecodeFigures = { results: [], batches: 0, steps: 0, loadSeconds: 0, decodeSeconds: 0 };
  console.error(`decoding ${images.length} images, batch ${B}, ${W > 1 ? `beam ${W}` : "greedy"}`);
  const bar = new Progress(images.length, "images");
  try {
    for (let i = 0; i < images.length; i += B) {
      const chunk = images.slice(i, i + B), n = chunk.length;
      const tl = performance.now();
      const regionFeats = new Float32Array(n * R * F), visPe = new Float32Array(n * R * G); // [n, R, F], [n, R, G]
      for (let j = 0; j < n; j++) {
        const r = await reader.load(featureId(chunk[j]), featureDir(chunk[j]));
        regionFeats.set(r.feats, j * R * F);
        visPe.set(r.visPe, j * R * G);
      }
      const td = performance.now();
      out.loadSeconds += (td - tl) / 1000;
      let seqs: ArrayLike<number>[];
      if (W > 1) {
        const r = await dec.beam({ regionFeats, visPe }, {
          width: W,
          lengthPenalty: f.length_penalty,
          minLen: f.min_len ?? null,
          forbidDuplicateNgrams: f.forbid_duplicate_ngrams,
          ngramSize: f.ngram_size,
          forbidIgnoreIds: p.forbidIgnoreIds,
        });
        seqs = r.hypotheses.map((h) => h.tokens);
        out.steps += r.steps;
      } else {
        const r = await dec.greedy({ regionFeats, visPe });
        seqs = Array.from({ length: n }, (_, j) => r.ids.subarray(j * T, (j + 1) * T));
        out.steps += r.steps;
      }
      out.decodeSeconds += (performance.now() - td) / 1000;
      for (let j = 0; j < n; j++) {
        out.results.push({ image_id: p.evalIds[i + j], caption: captionText(seqs[j], p.vocab) });
      }
      out.batches++;
      bar.tick(n);
    }
  } finally {
    reader.close();
  }
  bar.done();
  return out;
}

/** Score the results that have references (as the original: only those), printing the metrics. */
function score(p: Plan, results: CaptionResult[]) {
  const refs = p.refs;
  if (!refs) return { metrics: null, unavailable: {}, scored: 0 };
  const kept = results.filter((r) => refs.has(String(r.image_id)));
  console.error(`using ${kept.length}/${results.length} predictions`);
  if (kept.length === 0) return { metrics: null, unavailable: {}, scored: 0 };
  const s = scoreCaptions(refs, kept, {
    meteor: p.meteor,
    meteorMissingReason: p.meteorMissingReason,
    allowMissing: true,
  });
  for (const [k, v] of Object.entries(s.metrics)) console.error(`${k}: ${v.toFixed(3)}`);
  for (const [k, v] of Object.entries(s.unavailable)) console.error(`${k}: unavailable (${v})`);
  return { metrics: s.metrics, unavailable: s.unavailable, scored: kept.length };
}

async function main(flags: Flags): Promise<void> {
  const t0 = performance.now();
  const plan = await prepare(flags);
  const { f, config } = plan;
  let model: VlpModel | OnnxModel, engine: string;
  if (f.engine === "onnx") {
    const dir = userPath(f.onnx_dir!);
    model = await OnnxModel.load(dir, { executionProvider: f.onnx_ep, threads: f.threads });
    checkExportConfig(model.manifest, dir, config); // the manifest read in prepare() is the same file
    engine = `onnxruntime-web/${model.runtime.executionProvider}`;
    console.error(`loading ${f.onnx_dir} (${engine}, ${model.runtime.threads} threads)`);
  } else {
    const backend = await openBackend(f.backend, { threads: f.threads });
    console.error(`loading ${plan.ckpt} (${backend.name} backend)`);
    model = await createModel({ config, backend, checkpoint: plan.ckpt });
    engine = backend.name;
  }
  const setup = (performance.now() - t0) / 1000;

  const d = await decodeImages(plan, model);
  await writeCaptionResults(plan.outPath, d.results);
  console.error(`wrote ${d.results.length} captions to ${plan.outPath}`);
  const s = score(plan, d.results);

  const n = d.results.length;
  console.log(JSON.stringify({
    images: n,
    batches: d.batches,
    beam_size: plan.f.beam_size,
    backend: engine,
    output_file: plan.outPath,
    setup_seconds: round(setup),
    load_seconds: round(d.loadSeconds),
    decode_seconds: round(d.decodeSeconds),
    seconds: round((performance.now() - t0) / 1000),
    images_per_s: round(n / (d.loadSeconds + d.decodeSeconds)),
    decode_images_per_s: round(n / d.decodeSeconds),
    mean_steps: round(d.steps / Math.max(d.batches, 1)),
    scored_images: s.scored,
    metrics: s.metrics,
    unavailable: Object.keys(s.unavailable).length ? s.unavailable : undefined,
  }));
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

if (import.meta.main) await main(startCommand(CMD));
