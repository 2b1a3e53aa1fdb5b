/**
 * What the train and eval-vqa2 CLIs set up alike: the vocabulary and tokenizer, the model configuration
 * (`--config_path` or BERT-base, `--drop_prob`), the special-token ids, where the region features are
 * (`--dataset`, `--image_root`, `--region_det_file_prefix`, `--region_bbox_file`), the backend and the model
 * with its initial weights (`--model_recover_path` through `from_pretrained`'s rules, else a seeded random
 * init).
 *
 * @module
 */
import { isAbsolute, relative } from "node:path";
import { z } from "zod";
import { type CaptionDataset, DEFAULT_LAYOUTS, type RegionReaderOptions } from "@vlp/features";
import {
  BACKEND_NAMES,
  type BackendName,
  bertBaseConfig,
  LEN_VIS_INPUT,
  loadCheckpoint,
  openBackend,
  parseConfig,
  readBertConfig,
  type Task,
  TRAIN_SEED,
  type VlpConfig,
  VlpModel,
} from "@vlp/model";
import type { SpecialIds } from "@vlp/decode";
import { BertTokenizer } from "@vlp/tokenizer";
import { openRankBackend } from "../dist/gpu_select.ts";
import { LocalWorld, type World } from "../dist/world.ts";
import { integer, number, userPath } from "@vlp/command";

const posInt = () => integer(1);

/** The zod shape of the flags both CLIs take (defaults as the original's). */
export const commonShape = {
  config_path: z.string().min(1).optional(),
  vocab: z.string({ required_error: "is required (the WordPiece vocab.txt of the model)" }).min(1),
  do_lower_case: z.boolean().default(false),
  drop_prob: number().min(0).lt(1, "--drop_prob must be in [0, 1)").default(0.1),
  new_segment_ids: z.boolean().default(false),
  enable_butd: z.boolean().default(false).refine((v) => v, {
    message: "is required: region features are the only input VLP supports (the original asserts it too)",
  }),
  len_vis_input: posInt().default(LEN_VIS_INPUT),
  dataset: z.enum(["coco", "flickr30k", "cc"], { message: "must be coco, flickr30k or cc" }).default("coco"),
  image_root: z.string({ required_error: "is required (the root of the region features)" }).min(1),
  region_bbox_file: z.string().min(1).optional(),
  region_det_file_prefix: z.string().optional(),
  backend: z.enum(BACKEND_NAMES as [BackendName, ...BackendName[]], {
    message: `must be one of ${BACKEND_NAMES.join(", ")}`,
  }).default("blas"),
  threads: posInt().optional(),
  seed: integer().default(TRAIN_SEED),
  max_position_embeddings: posInt().optional(),
  num_workers: integer(0).default(1),
};

/** Parsed common flags. */
export type CommonFlags = z.infer<z.ZodObject<typeof commonShape>>;

/** Tokenizer, configuration and special ids of a run. */
export interface ModelSetup {
  tokenizer: BertTokenizer;
  config: VlpConfig;
  ids: SpecialIds;
}

/**
 * Read the vocabulary and the configuration, and check that they agree. `fallback` is the configuration
 * without `--config_path` (default BERT-base; an ONNX export's own for its engine).
 */
export async function loadModelSetup(
  f: CommonFlags,
  fallback: { config: VlpConfig; name: string } = { config: bertBaseConfig, name: "BERT-base cased" },
): Promise<ModelSetup> {
  const base = f.config_path ? await readBertConfig(userPath(f.config_path)) : fallback.config;
  const config = parseConfig({
    ...base,
    hiddenDropout: f.drop_prob,
    attentionDropout: f.drop_prob,
    regions: f.len_vis_input,
    ...(f.max_position_embeddings ? { maxPositions: f.max_position_embeddings } : {}),
  });
  const vocabPath = userPath(f.vocab);
  const tokenizer = await BertTokenizer.fromFile(vocabPath, { lowerCase: f.do_lower_case });
  const vocab = tokenizer.vocab;
  if (vocab.size !== config.vocabSize) {
    throw new RangeError(
      `The vocabulary "${vocabPath}" has ${vocab.size} tokens but the model configuration${
        f.config_path ? ` "${userPath(f.config_path)}"` : ` (${fallback.name})`
      } says vocab_size ${config.vocabSize}`,
    );
  }
  const id = (t: string) => {
    const i = vocab.id(t);
    if (i === undefined) throw new RangeError(`The vocabulary "${vocabPath}" has no ${t} token`);
    return i;
  };
  const ids = { pad: id("[PAD]"), unk: id("[UNK]"), cls: id("[CLS]"), sep: id("[SEP]"), mask: id("[MASK]") };
  return { tokenizer, config, ids };
}

/** `--image_root`-relative layout entry (an absolute flag value is made relative, as os.path.join would). */
function layoutEntry(imageRoot: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  return isAbsolute(value) ? relative(imageRoot, value) : value;
}

/** Where the region features are, and their sizes. */
export function regionOptions(f: CommonFlags, config: VlpConfig): RegionReaderOptions {
  const dataset = f.dataset as CaptionDataset;
  const imageRoot = userPath(f.image_root), d = DEFAULT_LAYOUTS[dataset];
  return {
    dataset,
    imageRoot,
    layout: {
      detFilePrefix: dataset === "flickr30k"
        ? ""
        : layoutEntry(imageRoot, f.region_det_file_prefix, d.detFilePrefix),
      bboxFile: layoutEntry(imageRoot, f.region_bbox_file, d.bboxFile),
    },
    dims: { R: config.regions, F: config.regionFeatureSize, K: config.regionGeometrySize - 6 },
  };
}

/**
 * The model on the chosen backend: from `recoverPath` with `from_pretrained`'s rules (BERT/UniLM or VLP
 * weights; what the file lacks keeps its seeded init and is reported), else a seeded random init.
 */
export async function createRunModel(
  f: CommonFlags,
  config: VlpConfig,
  task: Task,
  recoverPath: string | undefined,
  log: (line: string) => void,
  opts: { fp16?: boolean; world?: World } = {},
): Promise<VlpModel> {
  // across ranks, --backend webgpu opens this local rank's GPU (dist/gpu_select.ts)
  const backend = await openRankBackend(
    opts.world ?? new LocalWorld(),
    f.backend,
    () => openBackend(f.backend, { threads: f.threads }),
    log,
  );
  const model = new VlpModel({ config, task, backend, seed: f.seed, fp16: opts.fp16 });
  if (recoverPath) {
    const path = userPath(recoverPath);
    const r = await loadCheckpoint(model, path, { mode: "pretrained" });
    log(`loaded ${r.loaded.length} tensors from ${path} (${backend.name} backend)`);
    if (r.missing.length) log(`  not in the file, initialised randomly: ${r.missing.join(", ")}`);
    if (r.ignored.length) log(`  in the file, not used: ${r.ignored.join(", ")}`);
    for (const a of r.adapted) log(`  adapted: ${a}`);
  } else {
    log(`no --model_recover_path: parameters initialised randomly (seed ${f.seed}, ${backend.name} backend)`);
  }
  return model;
}
