import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { readNpyObjectsFile, writeNpyObjects } from "@vlp/io";
import {
  evalImageId,
  featureDir,
  featureId,
  imagesOfSplits,
  type KarpathyImage,
  loadKarpathy,
  loadValidJpgs,
} from "./karpathy.ts";
import {
  AnswerVocab,
  loadAnswerVocab,
  loadVqaImdb,
  normalizeAnswer,
  vqaFeatureId,
  vqaSoftScores,
} from "./vqa.ts";

const FORMATS = fixturePath("fixtures/vlp-formats");
const expected = JSON.parse(await Deno.readTextFile(`${FORMATS}/expected.json`)) as Record<
  string,
  { eval_image_id: number; split: string }
>;

async function withJson(value: unknown, fn: (path: string) => Promise<void>, raw?: string): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/d.json`, raw ?? JSON.stringify(value));
    await fn(`${dir}/d.json`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("Karpathy COCO: splits and evaluation ids as expected.json", async () => {
  const file = await loadKarpathy(`${FORMATS}/COCO/dataset_coco.json`);
  equal(file.images.length, Object.keys(expected).length);
  for (const img of file.images) {
    const e = expected[featureId(img)]!;
    ok(e, featureId(img));
    equal(img.split, e.split);
    equal(evalImageId("coco", img), e.eval_image_id);
  }
  deepEqual(imagesOfSplits(file, ["train", "restval"]).map((i) => i.split).sort(), [
    "restval",
    "restval",
    "restval",
    "train",
    "train",
    "train",
  ]);
});

Deno.test("Karpathy Flickr30k and CC: feature ids, folders and evaluation ids", async () => {
  const fl = await loadKarpathy(`${FORMATS}/flickr30k/dataset_flickr30k.json`);
  deepEqual(fl.images.map((i) => [featureId(i), featureDir(i), evalImageId("flickr30k", i)]), [
    ["1000092795", "trainval", 1000092795],
    ["10002456", "trainval", 10002456],
    ["1000268201", "trainval", 1000268201],
  ]);
  const cc = await loadKarpathy(`${FORMATS}/CC/dataset_cc.json`);
  deepEqual(cc.images.map((i) => evalImageId("cc", i)), [1000, 1037, 1074, 1111]);
  const noId = { filename: "77.jpg", split: "train", sentences: [] } as KarpathyImage;
  throws(() => evalImageId("cc", noId, "dataset_cc.json"), /dataset_cc\.json.*no imgid/);
  throws(() => evalImageId("coco", { ...noId, filename: "abc.jpg" }, "x.json"), /x\.json.*"abc\.jpg"/);
});

Deno.test("Karpathy: invalid files are errors naming the file and the JSON path", async () => {
  const bad = {
    images: [{ filename: "a.jpg", split: "train", sentences: [] }, {
      filename: "b.jpg",
      split: "dev",
      sentences: [{ raw: 3 }],
    }],
  };
  await withJson(bad, async (p) => {
    await rejects(loadKarpathy(p), (e: Error) => {
      ok(e instanceof TypeError);
      ok(e.message.includes(p), e.message);
      ok(e.message.includes("images[1].split"), e.message);
      ok(e.message.includes("images[1].sentences[0].raw"), e.message);
      return true;
    });
  });
  await withJson(null, (p) => rejects(loadKarpathy(p), /Cannot parse JSON .*d\.json/), "{ not json");
});

Deno.test("valid-jpgs: a set of file names; a missing file is an error, never created", async () => {
  const v = await loadValidJpgs(`${FORMATS}/COCO/coco_valid_jpgs.json`);
  equal(v.size, 9);
  ok(!v.has("COCO_val2014_000000174482.jpg"));
  const dir = await Deno.makeTempDir();
  try {
    await rejects(loadValidJpgs(`${dir}/coco_valid_jpgs.json`), /no such file.*never created/);
    deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await withJson({ "a.jpg": 3 }, (p) => rejects(loadValidJpgs(p), /a\.jpg/));
});

Deno.test("VQA imdb: header and questions with their 10 answers", async () => {
  const imdb = await loadVqaImdb(`${FORMATS}/vqa/imdb_val2014.npy`, { requireAnswers: true });
  equal(imdb.header.has_answer, true);
  equal(imdb.questions.length, 12);
  const q = imdb.questions[0]!;
  deepEqual([q.image_name, q.image_id, q.question_id, vqaFeatureId(q)], [
    "COCO_val2014_000000391895",
    391895,
    3918950,
    "COCO_val2014_000000391895",
  ]);
  for (const x of imdb.questions) equal(x.answers!.length, 10);
});

Deno.test("VQA imdb: a file re-written by writeNpyObjects loads as the same imdb", async () => {
  const path = `${FORMATS}/vqa/imdb_val2014.npy`;
  const tmp = await Deno.makeTempFile({ suffix: ".npy" });
  try {
    await Deno.writeFile(tmp, writeNpyObjects((await readNpyObjectsFile(path)).items));
    deepEqual(
      await loadVqaImdb(tmp, { requireAnswers: true }),
      await loadVqaImdb(path, { requireAnswers: true }),
    );
  } finally {
    await Deno.remove(tmp);
  }
});

Deno.test("answer vocabulary: 3129 answers, <unk> first", async () => {
  const vocab = await loadAnswerVocab(fixturePath("data/vqa2_answers_vqa.txt"));
  equal(vocab.size, 3129);
  equal(vocab.unkIndex, 0);
  equal(vocab.words[vocab.indexOf("yes")], "yes");
  equal(vocab.indexOf("no such answer at all"), 0);
  await rejects(
    loadAnswerVocab(fixturePath("data/vqa2_answers_vqa.txt"), 3000),
    /3129 answers, expected 3000/,
  );
});

Deno.test("soft scores: Pythia's formula (0.3 / 0.6 / 0.9 / 1 for 1 / 2 / 3 / 4+ matches), <unk> unscored", () => {
  const vocab = new AnswerVocab(["<unk>", "yes", "no", "dog", "2", "frisbee", "man 's"]);
  equal(normalizeAnswer("  Man's, right?  "), "man 's right");
  // 'Yes.' keeps its period, so it is unknown; 'yes' x2, frisbee x2, dog x3, 2 x1
  const s = vqaSoftScores(
    ["Yes.", "frisbee", "dog", "2", "yes", "frisbee", "yes", "dog", "dog", "Yes."],
    vocab,
  );
  deepEqual([...s], [0, 0.6, 0, 0.9, 0.3, 0.6, 0].map(Math.fround));
  deepEqual([...vqaSoftScores(Array(10).fill("no"), vocab)], [0, 0, 1, 0, 0, 0, 0]);
  deepEqual([...vqaSoftScores(["Man's"], vocab)], [0, 0, 0, 0, 0, 0, 0.3].map(Math.fround));
  throws(() => vqaSoftScores(Array(11).fill("no"), vocab), RangeError);
});
