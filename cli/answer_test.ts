/**
 * `answer`: one command gives the answer of `extract-features` followed by `eval-vqa2` (the small detector,
 * the vlp-tiny VQA model, the shared answer list); an unreadable image is one line naming it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DETECT_TESTDATA, fixturePath, runCli, SMALL_DETECTOR_FLAGS, tinyVlpFlags } from "@vlp/testing";
import { writeNpyObjects } from "@vlp/io";

const TESTDATA = DETECT_TESTDATA, DETECTOR = SMALL_DETECTOR_FLAGS;
const QUESTION = "What colour is the square?";

Deno.test("answer: the answer of extract-features + eval-vqa2, in one command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = [
      ...(await tinyVlpFlags(dir)),
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
