/**
 * Write a synthetic scene set in VLP's original on-disk formats (COCO layout), through `@vlp/features`:
 *
 * ```
 * DIR/manifest.json                                   written last: options, counts, file names
 * DIR/scenes.json                                     ground truth (objects per image), for drawings
 * DIR/vocab.txt, DIR/answers_vqa.txt                  WordPiece vocabulary, answer list
 * DIR/annotations/dataset_coco.json                   Karpathy format, splits train/val/test
 * DIR/annotations/coco_valid_jpgs.json
 * DIR/annotations/captions_{val,test}.json            COCO caption references (eval-captions)
 * DIR/region_feat_gvd_wo_bgd/feat_cls_1000/coco_detection_vg_100dets_gvd_checkpoint_trainval_{feat,cls}XYZ.h5
 * DIR/region_feat_gvd_wo_bgd/coco_detection_vg_thresh0.2_feat_gvd_checkpoint_trainvaltest.h5
 * DIR/vqa/imdb_{train,val,test}.npy                   Pythia imdb (object array)
 * DIR/vqa/{split}_annotations.json, {split}_questions.json   official VQA format (eval-vqa)
 * ```
 *
 * Images are named `COCO_scenes_<12 digits>.jpg` (feature key `COCO_scenes_<id>`, evaluation id `<id>`).
 *
 * @module
 */
import { join } from "node:path";
import { type NdArray, writeBytesAtomic, writeH5, writeNpyObjects } from "@vlp/io";
import {
  DEFAULT_LAYOUTS,
  featureId,
  type KarpathyImage,
  loadAnswerVocab,
  regionPaths,
  shardOf,
} from "@vlp/features";
import { Rng } from "@vlp/model/rng";
import { captionsFor } from "./captions.ts";
import { type RegionDtype, SceneDetector } from "./detector.ts";
import { writeJsonAtomic, writeTextAtomic } from "./files.ts";
import { ALL_ANSWERS, questionsFor, type SceneQuestion } from "./questions.ts";
import { CANVAS, sampleScene, type Scene } from "./scene.ts";
import { buildAnswerList, buildWordpieceVocab } from "./vocab.ts";

/** Format version of a scene set (bump when the generator's output changes). */
export const SCENES_VERSION = 2;

/** Karpathy-style splits of a scene set. */
export type SceneSplit = "train" | "val" | "test";

/** Options of {@linkcode makeScenes}. */
export interface MakeScenesOptions {
  /** Output folder (created). */
  out: string;
  /** Number of images (default 1000): the last 10% are test, the 10% before them val. */
  images?: number;
  /** Seed of the scenes (default 1); the detector's projection is fixed regardless. */
  seed?: number;
  /** Questions per image (default 5). */
  questionsPerImage?: number;
  /** Feature / class-probability storage (default float16, as CC; COCO's originals are float32). */
  dtype?: RegionDtype;
  /** An answer list to use instead of the generated one (e.g. VQA 2.0's; it must have every scene answer). */
  answers?: string;
  /** Progress messages (default: none). */
  log?: (msg: string) => void;
}

/** The `manifest.json` of a scene set. */
export interface SceneManifest {
  version: number;
  images: number;
  seed: number;
  questionsPerImage: number;
  dtype: RegionDtype;
  answers: string | null;
  splits: Record<SceneSplit, number>;
  captions: number;
  questions: Record<SceneSplit, number>;
  /** Paths relative to the scene folder. */
  files: {
    karpathy: string;
    validJpgs: string;
    captionRefs: Record<"val" | "test", string>;
    imageRoot: string;
    regionDetFilePrefix: string;
    regionBboxFile: string;
    imdb: Record<SceneSplit, string>;
    vqaAnnotations: Record<"val" | "test", string>;
    vqaQuestions: Record<"val" | "test", string>;
    vocab: string;
    answers: string;
    scenes: string;
  };
}

/** One image of `scenes.json`. */
export interface SceneRecord extends Scene {
  file: string;
  split: SceneSplit;
  captions: string[];
  questions: (SceneQuestion & { questionId: number })[];
}

/** The file names a scene set uses (relative to its folder). */
export const SCENE_FILES: SceneManifest["files"] = {
  karpathy: "annotations/dataset_coco.json",
  validJpgs: "annotations/coco_valid_jpgs.json",
  captionRefs: { val: "annotations/captions_val.json", test: "annotations/captions_test.json" },
  imageRoot: "region_feat_gvd_wo_bgd",
  regionDetFilePrefix: DEFAULT_LAYOUTS.coco.detFilePrefix,
  regionBboxFile: DEFAULT_LAYOUTS.coco.bboxFile,
  imdb: { train: "vqa/imdb_train.npy", val: "vqa/imdb_val.npy", test: "vqa/imdb_test.npy" },
  vqaAnnotations: { val: "vqa/val_annotations.json", test: "vqa/test_annotations.json" },
  vqaQuestions: { val: "vqa/val_questions.json", test: "vqa/test_questions.json" },
  vocab: "vocab.txt",
  answers: "answers_vqa.txt",
  scenes: "scenes.json",
};

/** The image file name of a scene id. */
export function sceneFileName(id: number): string {
  return `COCO_scenes_${String(id).padStart(12, "0")}.jpg`;
}

/** The split of image `id` (1-based) in a set of `n`: the last 10% test, the 10% before val. */
export function splitOf(id: number, n: number): SceneSplit {
  const held = Math.max(1, Math.round(n * 0.1));
  if (id > n - held) return "test";
  if (id > n - 2 * held) return "val";
  return "train";
}

/** An independent random stream per image and purpose, so any image can be regenerated alone. */
function imageRng(seed: number, id: number, purpose: number): Rng {
  return new Rng(
    (Math.imul(seed, 0x9e3779b1) ^ Math.imul(id, 0x85ebca6b) ^ Math.imul(purpose + 1, 0xc2b2ae35)) >>> 0,
  );
}

/** Generate one scene with its captions and questions (no regions). */
export function sceneRecord(seed: number, id: number, n: number, questionsPerImage = 5): SceneRecord {
  const scene = sampleScene(imageRng(seed, id, 0), id);
  const captions = captionsFor(scene, imageRng(seed, id, 1));
  const questions = questionsFor(scene, imageRng(seed, id, 2), questionsPerImage).map((q, k) => ({
    ...q,
    questionId: id * 1000 + k,
  }));
  return { ...scene, file: sceneFileName(id), split: splitOf(id, n), captions, questions };
}

/** Read a scene set's manifest, or undefined when the folder holds no complete scene set. */
export async function readSceneManifest(dir: string): Promise<SceneManifest | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, "manifest.json"))) as SceneManifest;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new SyntaxError(
      `Cannot read scene manifest "${join(dir, "manifest.json")}": ${(e as Error).message}`,
    );
  }
}

/** Write a scene set (see the module documentation); returns its manifest. */
export async function makeScenes(opts: MakeScenesOptions): Promise<SceneManifest> {
  const n = opts.images ?? 1000;
  const seed = opts.seed ?? 1;
  const qpi = opts.questionsPerImage ?? 5;
  const dtype = opts.dtype ?? "float16";
  const log = opts.log ?? (() => {});
  if (!Number.isInteger(n) || n < 10) {
    throw new RangeError(`Cannot make scenes: --images must be an integer >= 10, got ${n}`);
  }
  if (!Number.isInteger(seed) || seed < 0) {
    throw new RangeError(`Cannot make scenes: --seed must be a non-negative integer`);
  }
  const out = opts.out;
  const F = SCENE_FILES;
  await Deno.remove(join(out, "manifest.json")).catch(() => {});
  for (const d of ["annotations", "vqa", F.imageRoot]) await Deno.mkdir(join(out, d), { recursive: true });

  // Text first: scenes, captions, questions, vocabularies.
  const records: SceneRecord[] = [];
  for (let id = 1; id <= n; id++) records.push(sceneRecord(seed, id, n, qpi));
  const vocab = buildWordpieceVocab(
    records.flatMap((r) => [...r.captions, ...r.questions.map((q) => q.question)]),
  );
  await writeTextAtomic(join(out, F.vocab), vocab.join("\n") + "\n");
  if (opts.answers) {
    const lines = (await Deno.readTextFile(opts.answers)).trimEnd().split("\n");
    const list = await loadAnswerVocab(opts.answers, lines.length);
    const missing = ALL_ANSWERS.filter((a) => list.indexOf(a) === list.unkIndex);
    if (missing.length) {
      throw new RangeError(`Cannot use answer list "${opts.answers}": it lacks ${missing.join(", ")}`);
    }
    await writeTextAtomic(join(out, F.answers), list.words.join("\n") + "\n");
  } else {
    await writeTextAtomic(join(out, F.answers), buildAnswerList(ALL_ANSWERS).join("\n") + "\n");
  }
  await writeJsonAtomic(join(out, F.scenes), {
    version: SCENES_VERSION,
    seed,
    canvas: CANVAS,
    images: records,
  });
  await writeKarpathy(out, records);
  await writeVqa(out, records);

  // Regions, one shard at a time (memory stays at one shard's images).
  const detector = new SceneDetector({ dtype });
  const byShard = new Map<string, SceneRecord[]>();
  for (const r of records) {
    const key = shardOf(featureKey(r));
    if (!byShard.has(key)) byShard.set(key, []);
    byShard.get(key)!.push(r);
  }
  const imageRoot = join(out, F.imageRoot);
  const layout = DEFAULT_LAYOUTS.coco;
  const boxes: [string, NdArray][] = [];
  let done = 0;
  const t0 = performance.now();
  for (const group of byShard.values()) {
    const feats: [string, NdArray][] = [], cls: [string, NdArray][] = [];
    for (const r of group) {
      const regions = detector.detect(r, imageRng(seed, r.id, 3));
      const key = featureKey(r);
      feats.push([key, regions.feats]);
      cls.push([key, regions.cls]);
      boxes.push([key, regions.bbox]);
      if (++done % 200 === 0) {
        log(`regions: ${done}/${n} images (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
    }
    const p = regionPaths("coco", imageRoot, feats[0]![0], layout);
    await Deno.mkdir(join(p.feats, ".."), { recursive: true });
    await writeH5(p.feats, feats);
    await writeH5(p.cls, cls);
  }
  boxes.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  await writeH5(join(imageRoot, layout.bboxFile), boxes);

  const count = (s: SceneSplit) => records.filter((r) => r.split === s);
  const manifest: SceneManifest = {
    version: SCENES_VERSION,
    images: n,
    seed,
    questionsPerImage: qpi,
    dtype,
    answers: opts.answers ?? null,
    splits: { train: count("train").length, val: count("val").length, test: count("test").length },
    captions: records.reduce((s, r) => s + r.captions.length, 0),
    questions: {
      train: count("train").reduce((s, r) => s + r.questions.length, 0),
      val: count("val").reduce((s, r) => s + r.questions.length, 0),
      test: count("test").reduce((s, r) => s + r.questions.length, 0),
    },
    files: F,
  };
  await writeJsonAtomic(join(out, "manifest.json"), manifest);
  return manifest;
}

function featureKey(r: SceneRecord): string {
  return r.file.slice(0, -4);
}

async function writeKarpathy(out: string, records: SceneRecord[]): Promise<void> {
  let sentid = 0;
  const images: KarpathyImage[] = records.map((r) => ({
    filepath: "scenes",
    filename: r.file,
    imgid: r.id - 1,
    cocoid: r.id,
    split: r.split,
    sentids: r.captions.map((_, i) => sentid + i),
    sentences: r.captions.map((raw) => ({ raw, tokens: raw.split(" "), imgid: r.id - 1, sentid: sentid++ })),
  }));
  await writeJsonAtomic(join(out, SCENE_FILES.karpathy), { dataset: "coco", images });
  await writeJsonAtomic(
    join(out, SCENE_FILES.validJpgs),
    Object.fromEntries(records.map((r) => [r.file, r.file])),
  );
  for (const split of ["val", "test"] as const) {
    const rs = records.filter((r) => r.split === split);
    let id = 0;
    await writeJsonAtomic(join(out, SCENE_FILES.captionRefs[split]), {
      info: { description: `synthetic scenes, ${split} split` },
      licenses: [],
      type: "captions",
      images: rs.map((r) => ({ id: r.id, file_name: r.file })),
      annotations: rs.flatMap((r) => r.captions.map((caption) => ({ image_id: r.id, id: id++, caption }))),
    });
  }
  if (images.some((img) => featureId(img) !== featureKey(records[img.cocoid! - 1]!))) {
    throw new Error("internal: feature ids disagree");
  }
}

async function writeVqa(out: string, records: SceneRecord[]): Promise<void> {
  for (const split of ["train", "val", "test"] as const) {
    const rs = records.filter((r) => r.split === split);
    const header = {
      create_time: "synthetic",
      dataset_name: `scenes_${split}`,
      version: 1,
      has_answer: true,
      has_gt_layout: false,
    };
    const items = rs.flatMap((r) =>
      r.questions.map((q) => ({
        image_name: featureKey(r),
        image_id: r.id,
        question_id: q.questionId,
        feature_path: `${featureKey(r)}.npy`,
        question_str: q.question,
        question_tokens: q.question.replace(/[?,]/g, "").split(" "),
        answers: q.answers,
      }))
    );
    await writeBytesAtomic(join(out, SCENE_FILES.imdb[split]), writeNpyObjects([header, ...items]));
    if (split === "train") continue;
    await writeJsonAtomic(join(out, SCENE_FILES.vqaAnnotations[split]), {
      info: { description: `synthetic scenes, ${split} split` },
      data_subtype: split,
      annotations: rs.flatMap((r) =>
        r.questions.map((q) => ({
          question_id: q.questionId,
          image_id: r.id,
          question_type: q.questionType,
          answer_type: q.answerType,
          multiple_choice_answer: majority(q.answers),
          answers: q.answers.map((answer, i) => ({ answer, answer_confidence: "yes", answer_id: i + 1 })),
        }))
      ),
    });
    await writeJsonAtomic(join(out, SCENE_FILES.vqaQuestions[split]), {
      info: { description: `synthetic scenes, ${split} split` },
      data_subtype: split,
      questions: rs.flatMap((r) =>
        r.questions.map((q) => ({ image_id: r.id, question: q.question, question_id: q.questionId }))
      ),
    });
  }
}

/** The most frequent answer (first on ties). */
export function majority(answers: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  let best = answers[0]!;
  for (const [a, c] of counts) if (c > counts.get(best)!) best = a;
  return best;
}
