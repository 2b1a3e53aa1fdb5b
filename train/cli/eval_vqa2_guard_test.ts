/**
 * eval-vqa2 never answers from a random head, never writes over its inputs, never scores nothing and never
 * answers from bad numbers: each hostile command line fails with its exit status and message before the
 * first batch, every input file byte-identical afterwards.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertRefused, type CliResult, endedPid, FileSnapshot, fixturePath, runCli } from "@vlp/testing";
import { type ImageRegions, RegionReader, writeRegionFiles } from "@vlp/features";
import { createBackend, readBertConfig, saveCheckpoint, type Task, VlpModel } from "@vlp/model";
import { exportOnnx } from "@vlp/onnx";
import { globFiles } from "./eval_vqa2.ts";
import { TINY_MODEL_FLAGS, VQA_IMDB as IMDB, vqaImdbWithRegions } from "./test_utils.ts";

const ANSWERS = fixturePath("data/vqa2_answers_vqa.txt");
const CONFIG = TINY_MODEL_FLAGS[TINY_MODEL_FLAGS.indexOf("--config_path") + 1];
const run = (args: string[]) => runCli("train/cli/eval_vqa2.ts", args);

/** A failure before the first batch: the status, the message, no stack trace, nothing evaluated. */
const refused = (r: CliResult, code: number, text: RegExp, what: string) =>
  assertRefused(r, code, text, { what, started: /questions\/s|wrote \d+ answers/ });

/** A random model of the tiny configuration saved at `path`. */
async function checkpoint(path: string, task: Task, seed = 1): Promise<VlpModel> {
  const model = new VlpModel({
    config: await readBertConfig(CONFIG),
    task,
    backend: createBackend("reference"),
    seed,
  });
  await saveCheckpoint(model, path);
  return model;
}

Deno.test("globFiles: a wildcard skips hidden files (atomic writes' temporaries) as glob.glob does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const n of ["model.2.bin", ".model.3.bin", ".hidden.bin", "optim.2.npz"]) {
      await Deno.writeTextFile(join(dir, n), "");
    }
    assert.deepEqual(await globFiles(join(dir, "*.bin")), [join(dir, "model.2.bin")]);
    assert.deepEqual(await globFiles(join(dir, ".*.bin")), [
      join(dir, ".hidden.bin"),
      join(dir, ".model.3.bin"),
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval-vqa2 refuses a checkpoint without a VQA head, outputs that are inputs, nothing to score, bad features", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-vqa-guard-" });
  try {
    const root = join(dir, "feats"), nanRoot = join(dir, "nan_feats");
    const { imdb, imageIds: ids } = await vqaImdbWithRegions(root);
    // the same features with one NaN in the second image's
    const reader = RegionReader.open({ dataset: "coco", imageRoot: root });
    const images = new Map<string, ImageRegions>();
    for (const id of ids) images.set(id, await reader.read(id));
    reader.close();
    images.get(ids[1])!.feats.data[7] = NaN;
    await writeRegionFiles(images, { dataset: "coco", imageRoot: nanRoot });
    await Deno.mkdir(join(dir, "run"));
    await checkpoint(join(dir, "run", "model.1.bin"), "vqa2");
    await checkpoint(join(dir, "run", "model.2.bin"), "img2txt"); // a captioning checkpoint: no VQA head
    await Deno.copyFile(join(dir, "run", "model.1.bin"), join(dir, "run", "best.1.bin"));
    const out = join(dir, "out");
    await Deno.mkdir(out);
    // annotations of the imdb's questions named like the results file, and annotations of other questions
    const annotation = (question_id: number) => ({
      question_id,
      question_type: "what",
      answer_type: "other",
      answers: Array.from({ length: 10 }, (_, i) => ({ answer: "yes", answer_id: i + 1 })),
    });
    const mine = { annotations: imdb.questions.map((q) => annotation(q.question_id)) };
    await Deno.writeTextFile(join(out, "vqa2-results-run-val-1.json"), JSON.stringify(mine));
    await Deno.writeTextFile(join(dir, "other_split.json"), JSON.stringify({ annotations: [annotation(1)] }));
    await Deno.writeTextFile(join(dir, "a_file"), "mine");
    const base = [...TINY_MODEL_FLAGS, "--src_file", IMDB, "--answer_vocab", ANSWERS, "--image_root", root];
    const inputs = await FileSnapshot.of(dir);
    const cases: [string[], number, RegExp][] = [
      [
        ["--model_recover_path", join(dir, "run", "model.*.bin"), "--output_dir", join(dir, "o1")],
        1,
        /Cannot evaluate checkpoint ".*model\.2\.bin": it has no VQA head \(ans_classifier\.0\.weight, .*train --tasks vqa2/,
      ],
      [
        [
          "--model_recover_path",
          join(dir, "run", "model.1.bin"),
          "--output_dir",
          out,
          "--ref_file",
          join(out, "vqa2-results-run-val-1.json"),
        ],
        2,
        /--output_dir \(results file\) ".*vqa2-results-run-val-1\.json" is the file of --ref_file/,
      ],
      [
        ["--model_recover_path", join(dir, "run", "*.1.bin"), "--output_dir", join(dir, "o2")],
        2,
        /results file\) ".*vqa2-results-run-val-1\.json" is the file of --output_dir \(results file\) .*another output/,
      ],
      [
        ["--model_recover_path", join(dir, "run", "model.1.bin"), "--output_dir", join(dir, "a_file")],
        1,
        /cannot write --output_dir ".*a_file": ".*a_file" is a file, not a folder/,
      ],
      [
        [
          "--model_recover_path",
          join(dir, "run", "model.1.bin"),
          "--output_dir",
          join(dir, "o3"),
          "--ref_file",
          join(dir, "other_split.json"),
        ],
        1,
        /--ref_file ".*other_split\.json" has none of the \d+ questions of ".*imdb_val2014\.npy": there is nothing to score/,
      ],
      [
        [
          "--model_recover_path",
          join(dir, "run", "model.1.bin"),
          "--output_dir",
          join(dir, "o4"),
          "--image_root",
          nanRoot,
        ],
        1,
        new RegExp(
          `problem\\(s\\) with the region features, nothing evaluated:\\n  feats of "${
            ids[1]
          }" in ".*\\.h5" has NaN at \\[0, 7\\]`,
        ),
      ],
    ];
    for (const [extra, code, text] of cases) {
      refused(await run([...base, ...extra]), code, text, extra.join(" "));
    }
    await inputs.assertUnchanged("an input changed, or an output appeared");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval-vqa2 --engine onnx: the export's manifest is the configuration; a contradicting one is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-vqa-onnx-" });
  try {
    const root = join(dir, "feats");
    const { imdb } = await vqaImdbWithRegions(root);
    const onnxDir = join(dir, "onnx");
    await exportOnnx(await checkpoint(join(dir, "model.1.bin"), "vqa2"), onnxDir);
    const wrong = join(dir, "wrong.json");
    await Deno.writeTextFile(
      wrong,
      JSON.stringify({ ...JSON.parse(await Deno.readTextFile(CONFIG)), hidden_size: 64 }),
    );
    const out = join(dir, "out");
    await Deno.mkdir(out);
    const stale = join(out, `.vqa2-results-onnx-val-onnx.json.tmp-${await endedPid()}-0badf00d`);
    await Deno.writeTextFile(stale, "[{");
    const vocabFlags = TINY_MODEL_FLAGS.slice(0, TINY_MODEL_FLAGS.indexOf("--config_path"));
    const base = [
      ...vocabFlags,
      "--enable_butd",
      "--src_file",
      IMDB,
      "--answer_vocab",
      ANSWERS,
      "--image_root",
      root,
    ]
      .concat(["--engine", "onnx", "--onnx_dir", onnxDir, "--output_dir", out]);
    const inputs = await FileSnapshot.of(onnxDir, wrong, root);
    refused(
      await run([...base, "--config_path", wrong]),
      1,
      /--config_path ".*wrong\.json" contradicts the ONNX export ".*onnx" \(vlp_onnx\.json\): hiddenSize 64 \(the export: 32\)/,
      "contradicting config",
    );
    // no --config_path: V 30522 from the manifest, not BERT-base's 28996; annotations of half the questions
    const half = imdb.questions.slice(0, imdb.questions.length / 2);
    const refFile = join(dir, "half_annotations.json");
    await Deno.writeTextFile(
      refFile,
      JSON.stringify({
        annotations: half.map((q) => ({
          question_id: q.question_id,
          question_type: "what",
          answer_type: "other",
          answers: q.answers!.map((answer, i) => ({ answer, answer_id: i + 1 })),
        })),
      }),
    );
    const good = await run([...base, "--ref_file", refFile]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stderr, new RegExp(`covers ${half.length} of the ${imdb.questions.length} questions`));
    assert.equal(typeof good.json.checkpoints[0].accuracy.overall, "number");
    assert.equal(good.json.checkpoints.length, 1);
    assert.equal(
      JSON.parse(await Deno.readTextFile(good.json.checkpoints[0].results_file)).length,
      imdb.questions.length,
    );
    await assert.rejects(Deno.stat(stale), Deno.errors.NotFound);
    await inputs.assertUnchanged("an input changed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
