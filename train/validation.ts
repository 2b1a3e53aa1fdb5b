/**
 * Validation after each epoch, and VQA inference.
 *
 * - Captions: greedy decoding (beam 1, as the README decodes the val split; `@vlp/decode`) of every image of
 *   a Karpathy split, then coco-caption's metrics without METEOR/SPICE (`@vlp/eval` scoreCaptions: PTB
 *   tokenization, BLEU, ROUGE-L, CIDEr-D with document frequencies over the split's references). The
 *   references are the split's own captions (the same texts as COCO's `captions_val2014.json`).
 *   Returns `{ CIDEr, Bleu_4 }`; the captions can be written as a COCO results file.
 * - VQA: the answer of every question (argmax over logits[1:] + 1, index 0 `<unk>` never chosen; `eval_vqa2.py`)
 *   with nothing masked (max_pred 0), bidirectional mask; accuracy with the official rules (`@vlp/eval`).
 * - Across ranks (a {@linkcode World} of N): rank r decodes or answers the chunks (of the batch size) r, r + N,
 *   …, and one all-reduce gathers every rank's token ids or answer indices, so every rank ends with all
 *   results (rank 0 writes them); the figures are those of one process.
 *
 * @module
 */
import {
  CaptionDecoder,
  type CaptionResult,
  captionTexts,
  type SpecialIds,
  writeCaptionResults,
} from "@vlp/decode";
import { scoreCaptions, vqaAccuracy, type VqaQuestion } from "@vlp/eval";
import {
  type CaptionDataset,
  evalImageId,
  featureDir,
  featureId,
  imagesOfSplits,
  type KarpathyFile,
  RegionReader,
  type RegionReaderOptions,
  type Split,
} from "@vlp/features";
import { type Batch, MAX_TGT_LENGTH, type VlpConfig, type VlpModel, vqaPredictions } from "@vlp/model";
import type { Vocab } from "@vlp/tokenizer";
import { BatchLoader } from "./loader.ts";
import type { ExampleSet } from "./examples.ts";
import type { World } from "./dist/world.ts";

/** One image to caption in validation, with its references. */
export interface CaptionValImage {
  featureId: string;
  /** folder of per-image npy features */
  dir: string;
  /** the image id of the results file */
  evalId: number;
  refs: string[];
}

/** The images of a Karpathy split with their reference captions (optionally admitted by valid-jpgs). */
export function captionValImages(
  file: KarpathyFile,
  dataset: CaptionDataset,
  split: Split,
  opts: { validJpgs?: ReadonlySet<string> | null; maxImages?: number; source?: string } = {},
): CaptionValImage[] {
  const out: CaptionValImage[] = [];
  for (const img of imagesOfSplits(file, [split])) {
    if (opts.validJpgs && !opts.validJpgs.has(img.filename)) continue;
    if (opts.maxImages !== undefined && out.length >= opts.maxImages) break;
    out.push({
      featureId: featureId(img),
      dir: featureDir(img),
      evalId: evalImageId(dataset, img, opts.source),
      refs: img.sentences.map((s) => s.raw),
    });
  }
  return out;
}

/** Options of {@linkcode captionValidator}. */
export interface CaptionValidatorOptions {
  model: VlpModel;
  images: CaptionValImage[];
  regions: RegionReaderOptions;
  vocab: Vocab;
  /** images decoded at once */
  batchSize: number;
  /** `--max_tgt_length` (20) */
  maxTgtLength?: number;
  /** false: segment ids 0/1 instead of 4/5 (without `--new_segment_ids`) */
  newSegmentIds?: boolean;
  ids?: Partial<SpecialIds>;
  /** where to write each epoch's captions (COCO results format; rank 0 writes) */
  resultsPath?: (epoch: number) => string;
  /** the ranks that share the images (default: one process) */
  world?: World;
}

/** Greedy captions of every image (in order). */
export async function greedyCaptions(o: CaptionValidatorOptions): Promise<CaptionResult[]> {
  const reader = RegionReader.open(o.regions);
  const decoder = new CaptionDecoder(o.model, {
    maxImages: o.batchSize,
    maxTgtLength: o.maxTgtLength ?? MAX_TGT_LENGTH,
    ids: o.ids,
  });
  const { R, F, G } = o.model.dims;
  const A = decoder.layout.promptLength, L = decoder.layout.length;
  const N = o.world?.size ?? 1, rank = o.world?.rank ?? 0;
  let T = 0; // token ids per caption (the longest chunk's)
  const mine: { at: number; B: number; ids: Int32Array }[] = [];
  try {
    for (let k = rank, i = rank * o.batchSize; i < o.images.length; k += N, i = k * o.batchSize) {
      const chunk = o.images.slice(i, i + o.batchSize), B = chunk.length;
      const regionFeats = new Float32Array(B * R * F), visPe = new Float32Array(B * R * G);
      for (let b = 0; b < B; b++) {
        const r = await reader.load(chunk[b].featureId, chunk[b].dir);
        regionFeats.set(r.feats, b * R * F);
        visPe.set(r.visPe, b * R * G);
      }
      let segmentIds: Int32Array | undefined;
      if (o.newSegmentIds === false) {
        segmentIds = new Int32Array(B * L);
        for (let b = 0; b < B; b++) segmentIds.fill(1, b * L + A, (b + 1) * L);
      }
      const { ids } = await decoder.greedy({ regionFeats, visPe, ...(segmentIds ? { segmentIds } : {}) });
      T = Math.max(T, ids.length / B);
      mine.push({ at: i, B, ids: Int32Array.from(ids) });
    }
  } finally {
    reader.close();
  }
  // every image's ids + 1, [images, width] (0: another rank's image; rows padded with [PAD]), summed over
  // the ranks
  const width = N > 1 ? (await maxOver(o.world!, T)) : T;
  const all = new Float64Array(o.images.length * width);
  for (const m of mine) {
    const t = m.ids.length / m.B;
    for (let b = 0; b < m.B; b++) {
      const row = (m.at + b) * width;
      all.fill(decoder.ids.pad + 1, row, row + width);
      for (let j = 0; j < t; j++) all[row + j] = m.ids[b * t + j] + 1;
    }
  }
  if (N > 1) await o.world!.allreduceSum(all);
  const ids = Int32Array.from(all, (v) => v - 1);
  return captionTexts(ids, o.images.length, o.vocab).map((caption, b) => ({
    image_id: o.images[b].evalId,
    caption,
  }));
}

/** The largest of one number per rank. */
async function maxOver(world: World, x: number): Promise<number> {
  const all = new Float64Array(world.size);
  all[world.rank] = x;
  await world.allreduceSum(all);
  return Math.max(...all);
}

/** The per-epoch caption validation (see the module doc). */
export function captionValidator(
  o: CaptionValidatorOptions,
): (epoch: number) => Promise<Record<string, number>> {
  if (o.images.length === 0) {
    throw new RangeError("Cannot validate captions: the validation split has no images");
  }
  const refs = new Map(o.images.map((im) => [im.evalId, im.refs]));
  return async (epoch) => {
    const results = await greedyCaptions(o);
    if (o.resultsPath && (o.world?.rank ?? 0) === 0) await writeCaptionResults(o.resultsPath(epoch), results);
    const { metrics } = scoreCaptions(refs, results);
    return { CIDEr: metrics.CIDEr, Bleu_4: metrics.Bleu_4 };
  };
}

/** An engine other than a VlpModel that gives [B, A] VQA logits (e.g. `OnnxModel` of `@vlp/onnx`). */
export interface VqaEngine {
  readonly config: VlpConfig;
  vqaLogits(batch: Batch): Promise<ArrayLike<number>>;
}

/** What {@linkcode vqaInferenceLoader} needs beyond the model's configuration. */
export interface VqaInferenceInput {
  examples: ExampleSet;
  regions: RegionReaderOptions;
  config: Pick<VlpConfig, "regions" | "vocabSize">;
  /** `--max_tgt_length`: the question's token budget */
  maxLenB: number;
  newSegmentIds: boolean;
  special: SpecialIds;
  /** the answer list (line 0 `<unk>`) */
  answerWords: readonly string[];
  batchSize: number;
  seed: number;
  numWorkers: number;
}

/**
 * The loader of VQA inference (eval-vqa2, answer): bidirectional, nothing masked, the question's tail
 * truncated as the original's eval does; for {@linkcode vqaAnswerIndices}.
 */
export function vqaInferenceLoader(o: VqaInferenceInput): BatchLoader {
  return new BatchLoader({
    examples: o.examples,
    regions: o.regions,
    pipeline: {
      R: o.config.regions,
      maxLenB: o.maxLenB,
      maxPred: 0,
      maskProb: 0,
      newSegmentIds: o.newSegmentIds,
      alwaysTruncateTail: true,
      vocabSize: o.config.vocabSize,
      special: o.special,
    },
    s2sProb: 0,
    answerWords: [...o.answerWords],
    batchSize: o.batchSize,
    seed: o.seed,
    numWorkers: o.numWorkers,
  });
}

/**
 * The answer index of every example of an evaluation loader (max_pred 0, bidirectional), in order; across
 * ranks, each answers its share and all receive every answer.
 */
export async function vqaAnswerIndices(
  model: VlpModel | VqaEngine,
  loader: BatchLoader,
  onBatch?: (done: number, total: number) => void,
  world?: World,
): Promise<Int32Array> {
  const out = new Int32Array(loader.size);
  let done = 0;
  for await (const batch of loader.inOrder(world)) {
    const { answerTargets: _, ...inputs } = batch;
    const logits = "vqaLogits" in model
      ? await model.vqaLogits(inputs)
      : await model.backend.read(model.forward(inputs).vqaLogits!);
    const pred = vqaPredictions(logits, model.config.numAnswers);
    batch.examples.forEach((ex, b) => (out[ex] = pred[b]));
    done += batch.examples.length;
    onBatch?.(done, loader.size);
  }
  if (world && world.size > 1) {
    // an answer index is ≥ 1 (index 0, <unk>, is never answered): 0 marks another rank's question
    const all = Float64Array.from(out);
    await world.allreduceSum(all);
    return Int32Array.from(all);
  }
  return out;
}

/** Accuracy (official rules, %) of answers against each example's raw human answers. */
export function vqaAccuracyOf(answers: readonly string[], truth: readonly string[][]): number {
  const questions: VqaQuestion[] = truth.map((a, i) => ({
    question_id: i,
    question_type: "",
    answer_type: "",
    answers: a,
  }));
  return vqaAccuracy(questions, new Map(answers.map((a, i) => [i, a]))).overall;
}

/** The per-epoch VQA validation: `{ VQA_acc }` on an evaluation loader whose examples carry answers. */
export function vqaValidator(
  model: VlpModel,
  loader: BatchLoader,
  answerWords: readonly string[],
  world?: World,
): (epoch: number) => Promise<Record<string, number>> {
  const truth = loader.options.examples.answers;
  if (!truth || truth.some((a) => a.length === 0)) {
    throw new RangeError("Cannot validate VQA: the validation questions have no answers");
  }
  return async () => {
    const idx = await vqaAnswerIndices(model, loader, undefined, world);
    return { VQA_acc: vqaAccuracyOf([...idx].map((i) => answerWords[i]), truth) };
  };
}
