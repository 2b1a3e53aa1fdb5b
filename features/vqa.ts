/**
 * VQA 2.0 data as VLP consumes it (spec §4.2, §6.2): Pythia's imdb `.npy` files (an object array read
 * through the safe pickle reader, validated with zod), the 3129-answer vocabulary and Pythia's soft-score
 * targets.
 *
 * @module
 */
import { z } from "zod";
import { readNpyObjects } from "@vlp/io";
import { parseWith } from "./validate.ts";

/** Element 0 of an imdb file. */
export interface ImdbHeader {
  create_time?: string;
  dataset_name?: string;
  version?: number | string;
  has_answer: boolean;
  has_gt_layout?: boolean;
  [extra: string]: unknown;
}

/** Elements 1..N of an imdb file: one question. */
export interface ImdbQuestion {
  image_name: string;
  image_id: number;
  question_id: number;
  /** `image_name + ".npy"`. */
  feature_path: string;
  question_str: string;
  question_tokens: string[];
  /** The 10 raw human answers (train and val). */
  answers?: string[];
  [extra: string]: unknown;
}

const headerSchema: z.ZodType<ImdbHeader> = z.object({
  create_time: z.string().optional(),
  dataset_name: z.string().optional(),
  version: z.union([z.number(), z.string()]).optional(),
  has_answer: z.boolean(),
  has_gt_layout: z.boolean().optional(),
}).passthrough();

const questionSchema: z.ZodType<ImdbQuestion> = z.object({
  image_name: z.string().min(1),
  image_id: z.number().int(),
  question_id: z.number().int(),
  feature_path: z.string().regex(/\.npy$/, "expected <image_name>.npy"),
  question_str: z.string(),
  question_tokens: z.array(z.string()),
  answers: z.array(z.string()).optional(),
}).passthrough();

/** A parsed imdb file. */
export interface Imdb {
  header: ImdbHeader;
  questions: ImdbQuestion[];
}

/**
 * Read a Pythia VQA imdb `.npy` file. With `requireAnswers` (training), the header must say
 * `has_answer: true` and every question must carry its `answers`, as VLP asserts.
 */
export async function loadVqaImdb(path: string, opts: { requireAnswers?: boolean } = {}): Promise<Imdb> {
  const { shape, items } = readNpyObjects(await Deno.readFile(path), path);
  if (shape.length !== 1 || items.length < 1) {
    throw new TypeError(`Invalid "${path}": expected a 1-d object array with a header element`);
  }
  const schema = z.tuple([headerSchema]).rest(questionSchema);
  const [header, ...questions] = parseWith(schema, items, path);
  if (opts.requireAnswers) {
    if (header.has_answer !== true) {
      throw new TypeError(`Invalid "${path}": [0].has_answer must be true to train`);
    }
    const i = questions.findIndex((q) => !q.answers);
    if (i >= 0) throw new TypeError(`Invalid "${path}": [${i + 1}].answers is missing`);
  }
  return { header, questions };
}

/** The feature key of a question's image (`COCO_train2014_000000000009`): `feature_path` without `.npy`. */
export function vqaFeatureId(q: ImdbQuestion): string {
  return q.feature_path.slice(0, -4);
}

/** Pythia's default number of ground-truth answers per question. */
export const NUM_ANSWERS = 10;
/** VLP's answer head size (A of the glossary), hard-coded in the original. */
export const VQA_ANSWERS = 3129;
/** Pythia's unknown-answer token. */
export const UNK = "<unk>";

/** The answer vocabulary (`answers_vqa.txt`): one answer per line, line 0 `<unk>`. */
export class AnswerVocab {
  readonly words: readonly string[];
  readonly unkIndex: number;
  #index = new Map<string, number>();

  constructor(words: readonly string[], file = "answer vocabulary") {
    this.words = words;
    // later duplicates win, as Python's dict comprehension does
    words.forEach((w, i) => this.#index.set(w, i));
    const unk = this.#index.get(UNK);
    if (unk === undefined) throw new TypeError(`Invalid "${file}": no "${UNK}" line`);
    this.unkIndex = unk;
  }

  /** Number of answers (A). */
  get size(): number {
    return this.words.length;
  }

  /** Index of an already-normalised answer, or the `<unk>` index. */
  indexOf(answer: string): number {
    return this.#index.get(answer) ?? this.unkIndex;
  }
}

/**
 * Read an answer vocabulary file (lines stripped of surrounding whitespace, the trailing empty line
 * ignored). `expectedSize` (default 3129, VLP's head) is checked.
 */
export async function loadAnswerVocab(path: string, expectedSize = VQA_ANSWERS): Promise<AnswerVocab> {
  const lines = (await Deno.readTextFile(path)).split("\n").map((l) => l.trim());
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length !== expectedSize) {
    throw new RangeError(`Invalid "${path}": ${lines.length} answers, expected ${expectedSize}`);
  }
  return new AnswerVocab(lines, path);
}

/** Pythia's `word_tokenize` normalisation of an answer: lowercase, drop "," and "?", split "'s", strip. */
export function normalizeAnswer(answer: string): string {
  return answer.toLowerCase().replaceAll(",", "").replaceAll("?", "").replaceAll("'s", " 's").trim();
}

/**
 * Pythia's soft-score target `[A]` from the raw human answers (at most 10): each answer is normalised and
 * mapped to a vocab index (unknown → `<unk>`); missing slots are `<unk>`; for every distinct index a,
 * score(a) = mean over the 10 slots g of min(1, #(other 9 slots equal to a) / 3); `<unk>` gets no score.
 */
export function vqaSoftScores(answers: readonly string[], vocab: AnswerVocab): Float32Array {
  if (answers.length > NUM_ANSWERS) {
    throw new RangeError(`vqaSoftScores: ${answers.length} answers, at most ${NUM_ANSWERS} are supported`);
  }
  const idx = new Array<number>(NUM_ANSWERS).fill(vocab.unkIndex);
  answers.forEach((a, i) => (idx[i] = vocab.indexOf(normalizeAnswer(a))));
  const scores = new Float32Array(vocab.size); // [A]
  for (const a of new Set(idx)) {
    if (a === vocab.unkIndex) continue;
    const count = idx.filter((x) => x === a).length;
    let sum = 0;
    for (const g of idx) sum += Math.min(1, (g === a ? count - 1 : count) / 3);
    scores[a] = sum / NUM_ANSWERS;
  }
  return scores;
}
