/**
 * The training examples of a data set (`seq2seq_loader.py: Img2txtDataset.__init__`), tokenized once and
 * packed into typed arrays so that the whole list travels to loader Workers in one message.
 *
 * - Captions (Karpathy JSON): one example per (image, caption) pair of the images whose split is one of
 *   `splits` and whose file name is in the valid-jpgs set; `useNumImgs` (−1: all) limits the images.
 * - VQA (Pythia imdb files, in order): one example per question, the question text as tokens_b and the raw
 *   answers for the soft-score targets; `useNumImgs` limits the questions (as the original's counter does).
 *
 * The feature key of an image is its file name without extension (captions) or the imdb `feature_path`
 * without `.npy` (VQA); `imageDirs` holds the folder VLP would look in for per-image npy files (Flickr30k).
 *
 * @module
 */
import {
  featureDir,
  featureId,
  imagesOfSplits,
  type Imdb,
  type KarpathyFile,
  type Split,
  vqaFeatureId,
} from "@vlp/features";

/** Anything that turns a text into wordpiece ids (`BertTokenizer.encodeIds`). */
export interface TextEncoder {
  encodeIds(text: string): number[];
}

/** The packed examples of one data set. */
export interface ExampleSet {
  task: "img2txt" | "vqa2";
  /** unique feature keys of the images */
  imageIds: string[];
  /** per image, the folder of per-image npy features (Karpathy `filepath`; VQA: `image_name.split('_')[1]`) */
  imageDirs: string[];
  /** [N] image index of each example */
  exampleImage: Int32Array;
  /** [N + 1] start of each example's tokens in `tokens` */
  tokenStart: Int32Array;
  /** wordpiece ids of every caption / question, concatenated */
  tokens: Int32Array;
  /** vqa2: the raw human answers of each question */
  answers?: string[][];
  /** vqa2: the question id of each example */
  questionIds?: number[];
}

/** Number of examples. */
export function exampleCount(set: ExampleSet): number {
  return set.exampleImage.length;
}

/** The wordpiece ids of example i (a view). */
export function exampleTokens(set: ExampleSet, i: number): Int32Array {
  return set.tokens.subarray(set.tokenStart[i], set.tokenStart[i + 1]);
}

class Packer {
  imageIds: string[] = [];
  imageDirs: string[] = [];
  #imageIndex = new Map<string, number>();
  exampleImage: number[] = [];
  tokenStart: number[] = [0];
  tokens: number[] = [];

  image(id: string, dir: string): number {
    let i = this.#imageIndex.get(id);
    if (i === undefined) {
      i = this.imageIds.length;
      this.#imageIndex.set(id, i);
      this.imageIds.push(id);
      this.imageDirs.push(dir);
    }
    return i;
  }

  add(image: number, ids: readonly number[]): void {
    this.exampleImage.push(image);
    for (const t of ids) this.tokens.push(t);
    this.tokenStart.push(this.tokens.length);
  }

  pack(task: ExampleSet["task"]): ExampleSet {
    return {
      task,
      imageIds: this.imageIds,
      imageDirs: this.imageDirs,
      exampleImage: Int32Array.from(this.exampleImage),
      tokenStart: Int32Array.from(this.tokenStart),
      tokens: Int32Array.from(this.tokens),
    };
  }
}

/** Options of {@linkcode captionExamples}. */
export interface CaptionExampleOptions {
  splits: readonly Split[];
  /** file names admitted (valid-jpgs); null admits every image */
  validJpgs: ReadonlySet<string> | null;
  /** −1 (default): all images */
  useNumImgs?: number;
  /** the Karpathy file's name, for messages */
  source?: string;
}

/** One example per (image, caption) of the admitted images of `splits`. */
export function captionExamples(
  file: KarpathyFile,
  tokenizer: TextEncoder,
  opts: CaptionExampleOptions,
): ExampleSet {
  const limit = opts.useNumImgs ?? -1;
  const p = new Packer();
  let counter = 0;
  for (const img of imagesOfSplits(file, opts.splits)) {
    if (limit !== -1 && counter >= limit) break;
    if (opts.validJpgs && !opts.validJpgs.has(img.filename)) continue;
    const image = p.image(featureId(img), featureDir(img));
    for (const s of img.sentences) {
      const ids = tokenizer.encodeIds(s.raw);
      if (ids.length === 0) {
        throw new RangeError(
          `Invalid "${opts.source ?? "captions"}": a caption of "${img.filename}" has no wordpieces: ${
            JSON.stringify(s.raw)
          }`,
        );
      }
      p.add(image, ids);
    }
    counter++;
  }
  return p.pack("img2txt");
}

/** One example per question of the imdb files (in order); `useNumImgs` limits the questions. */
export function vqaExamples(
  imdbs: readonly Imdb[],
  tokenizer: TextEncoder,
  opts: { useNumImgs?: number } = {},
): ExampleSet {
  const limit = opts.useNumImgs ?? -1;
  const p = new Packer();
  const answers: string[][] = [], questionIds: number[] = [];
  let counter = 0;
  for (const imdb of imdbs) {
    for (const q of imdb.questions) {
      if (limit !== -1 && counter >= limit) break;
      const image = p.image(vqaFeatureId(q), q.image_name.split("_")[1] ?? "trainval");
      p.add(image, tokenizer.encodeIds(q.question_str));
      answers.push(q.answers ?? []);
      questionIds.push(q.question_id);
      counter++;
    }
  }
  return { ...p.pack("vqa2"), answers, questionIds };
}
