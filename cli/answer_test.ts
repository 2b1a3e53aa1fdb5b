/**
 * `answer`: one command gives the answer of `extract-features` followed by `eval-vqa2` (the small detector,
 * the vlp-tiny VQA model, the shared answer list); an unreadable image is one line naming it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fixturePath, runCli } from "@vlp/testing";
import { writeNpyObjects } from "@vlp/io";

const TESTDATA = new URL("../detect/testdata/", import.meta.url).pathname;
const DETECTOR = [
  "--detector_weights",
  join(TESTDATA, "small_detector.pkl"),
  "--detector_config",
  join(TESTDATA, "small_detector.json"),
];
const QUESTION = "What colour is the square?";

Deno.test("answer: the answer of extract-features + eval-vqa2, in one command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tiny = fixturePath("fixtures/vlp-tiny");
    const manifest = JSON.parse(await Deno.readTextFile(join(tiny, "manifest.json")));
    await Deno.writeTextFile(join(dir, "bert_config.json"), JSON.stringify(manifest.config));
    const vocab = (await Deno.readTextFile(fixturePath("data/bert-base-uncased-vocab.txt"))).split("\n");
    await Deno.writeTextFile(join(dir, "vocab.txt"), vocab.slice(0, 28996).join("\n") + "\n");
    const model = [
      "--model_recover_path",
      join(tiny, "model.bin"),
      "--config_path",
      join(dir, "bert_config.json"),
      "--vocab",
      join(dir, "vocab.txt"),
      "--answer_vocab",
      fixturePath("data/vqa2_answers_vqa.txt"),
      "--new_segment_ids",
      "--backend",
      "reference",
    ];
    await Deno.mkdir(join(dir, "images"));
    await Deno.copyFile(join(TESTDATA, "images", "gray.jpg"), join(dir, "images", "gray.jpg"));
    const root = join(dir, "root");
    const ex = await runCli("detect/cli/extract_features.ts", [
      ...DETECTOR,
      "--images",
      join(dir, "images"),
      "--out",
      root,
    ]);
    assert.equal(ex.code, 0, ex.stderr);
    const name = "COCO_images_000000000001";
    await Deno.writeFile(
      join(dir, "imdb.npy"),
      writeNpyObjects([{ has_answer: false }, {
        image_name: name,
        image_id: 1,
        question_id: 7,
        feature_path: `${name}.npy`,
        question_str: QUESTION,
        question_tokens: [],
      }]),
    );
    const ev = await runCli("train/cli/eval_vqa2.ts", [
      ...model,
      "--src_file",
      join(dir, "imdb.npy"),
      "--image_root",
      root,
      "--enable_butd",
      "--output_dir",
      join(dir, "out"),
      "--num_workers",
      "0",
    ]);
    assert.equal(ev.code, 0, ev.stderr);
    const results = ev.json as { results?: { results_file: string }[] };
    const file = results.results?.[0]?.results_file ??
      join(dir, "out", [...Deno.readDirSync(join(dir, "out"))][0]!.name);
    const expected = JSON.parse(await Deno.readTextFile(file))[0].answer as string;

    const a = await runCli("cli/answer.ts", [
      ...DETECTOR,
      ...model,
      "--image",
      join(TESTDATA, "images", "gray.jpg"),
      "--question",
      QUESTION,
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal((a.json as { answer: string }).answer, expected);
    assert.equal(a.stdout.trim().split("\n")[0], expected);

    const bad = await runCli("cli/answer.ts", [
      ...DETECTOR,
      ...model,
      "--image",
      join(TESTDATA, "images", "corrupt.jpg"),
      "--question",
      QUESTION,
    ]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /corrupt\.jpg/);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
