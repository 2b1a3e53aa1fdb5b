/**
 * `deno task answer --image F --question "..." --detector_weights FILE --model_recover_path vqa.bin --vocab V
 * --answer_vocab A`: a VQA answer for one image in one command: `@vlp/detect`'s regions of the image
 * (written to a temporary image root, exactly as `extract-features` writes them), the question as a
 * one-question Pythia imdb, and `eval-vqa2`'s answer rule (`@vlp/train`'s loader and `vqaAnswerIndices`:
 * bidirectional mask, nothing masked, argmax over the answers but `<unk>`). The answer is the one
 * `extract-features` + `eval-vqa2` give (`cli/answer_test.ts`).
 *
 * stdout: the answer, then one JSON line `{"image", "question", "answer", "seconds"}`. Exit code: 0, 1 when an
 * input cannot be read (the image included), 2 bad flags.
 *
 * @module
 */
import { basename, extname, join } from "node:path";
import { z } from "zod";
import { type Command, integer, startCommand, userPath } from "@vlp/command";
import { extractFeatures } from "@vlp/detect";
import { DETECTOR_MODEL_USAGE, detectorModelShape, openDetector } from "./detector_setup.ts";
import { type Imdb, loadAnswerVocab } from "@vlp/features";
import {
  bertBaseConfig,
  EVAL_SEED,
  LEN_VIS_INPUT,
  loadCheckpoint,
  MAX_TGT_LENGTH,
  parseConfig,
  readBertConfig,
  VlpModel,
} from "@vlp/model";
import { vqaAnswerIndices, vqaExamples, vqaInferenceLoader } from "@vlp/train";
import { BertTokenizer } from "@vlp/tokenizer";

const USAGE = `Usage: deno task answer --image F --question "..." --detector_weights F --model_recover_path M
                   --vocab V --answer_vocab A [options]
  --image F               a JPEG or PNG image
  --question Q            the question
${DETECTOR_MODEL_USAGE}
  --do_lower_case         lowercase the question (as the model was trained)
  --answer_vocab F        the answer list the model was trained with (line 0 <unk>)
  --new_segment_ids       VLP's segment ids 4/5 (as in training; the README's commands set it)
  --max_tgt_length N      question wordpieces at most (default ${MAX_TGT_LENGTH})
  --help                  show this text`;

const Flags = z.object({
  image: z.string({ required_error: "--image FILE is required" }).min(1),
  question: z.string({ required_error: '--question "..." is required' }).min(1),
  ...detectorModelShape,
  do_lower_case: z.boolean().default(false),
  answer_vocab: z.string({ required_error: "--answer_vocab FILE is required" }).min(1),
  new_segment_ids: z.boolean().default(false),
  max_tgt_length: integer(1).default(MAX_TGT_LENGTH),
});
type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = { name: "answer", usage: USAGE, flags: Flags };

async function main(f: Flags): Promise<number> {
  const t0 = performance.now();
  const image = userPath(f.image);
  const tokenizer = await BertTokenizer.fromFile(userPath(f.vocab), { lowerCase: f.do_lower_case });
  const base = f.config_path ? await readBertConfig(userPath(f.config_path)) : bertBaseConfig;
  const config = parseConfig({ ...base, hiddenDropout: 0, attentionDropout: 0, regions: LEN_VIS_INPUT });
  if (tokenizer.vocab.size !== config.vocabSize) {
    throw new Error(
      `vocabulary "${
        userPath(f.vocab)
      }" has ${tokenizer.vocab.size} tokens but the model has ${config.vocabSize}`,
    );
  }
  const answers = await loadAnswerVocab(userPath(f.answer_vocab));
  const { backend, detector } = await openDetector(f);
  const model = new VlpModel({ config, task: "vqa2", backend, seed: EVAL_SEED, noInit: true });
  const ckpt = userPath(f.model_recover_path);
  const loaded = await loadCheckpoint(model, ckpt, { mode: "pretrained" });
  if (loaded.missing.length) {
    throw new Error(
      `Cannot answer with checkpoint "${ckpt}": it lacks ${loaded.missing.slice(0, 3).join(", ")}`,
    );
  }
  const tmp = await Deno.makeTempDir({ prefix: "vlp-answer-" });
  try {
    // the image alone in a folder, its regions in a temporary image root (extract-features' files)
    const ext = extname(image).toLowerCase();
    await Deno.mkdir(join(tmp, "images"));
    await Deno.copyFile(image, join(tmp, "images", `image${ext}`)).catch((e) => {
      throw new Error(`Cannot read --image "${image}": ${(e as Error).message}`);
    });
    const root = join(tmp, "root");
    const r = await extractFeatures({
      detector,
      images: join(tmp, "images"),
      out: root,
      dataset: "coco",
      log: () => {},
    });
    if (r.failed.length) {
      throw new Error(r.failed[0]!.error.replaceAll(join(tmp, "images", `image${ext}`), image));
    }
    const name = "COCO_images_000000000001";
    const imdb: Imdb = {
      header: { has_answer: false },
      questions: [{
        image_name: name,
        image_id: 1,
        question_id: 1,
        feature_path: `${name}.npy`,
        question_str: f.question,
        question_tokens: [],
      }],
    };
    const v = tokenizer.vocab, id = (t: string) => v.id(t)!;
    const loader = vqaInferenceLoader({
      examples: vqaExamples([imdb], tokenizer),
      regions: { dataset: "coco", imageRoot: root },
      config,
      maxLenB: f.max_tgt_length,
      newSegmentIds: f.new_segment_ids,
      special: { pad: id("[PAD]"), unk: id("[UNK]"), cls: id("[CLS]"), sep: id("[SEP]"), mask: id("[MASK]") },
      answerWords: answers.words,
      batchSize: 1,
      seed: EVAL_SEED,
      numWorkers: 0,
    });
    let idx: Int32Array;
    try {
      idx = await vqaAnswerIndices(model, loader);
    } finally {
      await loader.close();
    }
    const answer = answers.words[idx[0]!]!;
    console.log(answer);
    console.log(JSON.stringify({
      image: basename(image),
      question: f.question,
      answer,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
    }));
    return 0;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(startCommand(CMD)));
