import assert from "node:assert/strict";
import { join } from "node:path";
import { fixturePath, runCli } from "@vlp/testing";
import { createModel, readBertConfig, ReferenceBackend } from "@vlp/model";
import { exportOnnx } from "@vlp/onnx";
import { globFiles, resultsFileName } from "./eval_vqa2.ts";
import {
  COCO_FLAGS,
  readTrainLog,
  TINY_MODEL_FLAGS,
  VQA_IMDB as IMDB,
  vqaImdbWithRegions,
} from "./test_utils.ts";

const ANSWERS = fixturePath("data/vqa2_answers_vqa.txt");
const MODEL = TINY_MODEL_FLAGS;
const run = runCli;

Deno.test("resultsFileName() and globFiles() name and find checkpoints as eval_vqa2.py does", async () => {
  assert.equal(
    resultsFileName("/runs/vqa2_lr2e-5/model.20.bin", "val"),
    "vqa2-results-vqa2_lr2e-5-val-20.json",
  );
  const dir = await Deno.makeTempDir();
  try {
    for (const n of ["model.2.bin", "model.10.bin", "optim.2.npz"]) {
      await Deno.writeTextFile(join(dir, n), "");
    }
    assert.deepEqual(await globFiles(join(dir, "model.*.bin")), [
      join(dir, "model.10.bin"),
      join(dir, "model.2.bin"),
    ]);
    assert.deepEqual(await globFiles(join(dir, "model.2.bin")), [join(dir, "model.2.bin")]);
    assert.deepEqual(await globFiles(join(dir, "nothing.*")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("VQA fine-tuning, then eval-vqa2: official results file and accuracy from the imdb's answers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp_vqa_" });
  try {
    const root = join(dir, "feats");
    const { imdb } = await vqaImdbWithRegions(root);
    const data = ["--image_root", root, "--answer_vocab", ANSWERS];
    const t = await run("train/cli/train.ts", [
      ...MODEL,
      ...data,
      "--tasks",
      "vqa2",
      "--src_file",
      IMDB,
      "--output_dir",
      join(dir, "vqa_run"),
      "--s2s_prob",
      "0",
      "--bi_prob",
      "1",
      "--max_pred",
      "1",
      "--mask_prob",
      "0",
      "--train_batch_size",
      "4",
      "--num_train_epochs",
      "2",
      "--learning_rate",
      "1e-3",
      "--val_src_file",
      IMDB,
    ]);
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.json.task, "vqa2");
    assert.ok(t.json.mean_loss_per_epoch[1] < t.json.mean_loss_per_epoch[0], `${t.json.mean_loss_per_epoch}`);
    assert.ok(typeof t.json.metrics_last_epoch.VQA_acc === "number");
    const e = await run("train/cli/eval_vqa2.ts", [
      ...MODEL,
      ...data,
      "--model_recover_path",
      join(dir, "vqa_run", "model.*.bin"),
      "--src_file",
      IMDB,
      "--output_dir",
      dir,
    ]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.json.checkpoints.length, 2);
    const results = JSON.parse(await Deno.readTextFile(join(dir, "vqa2-results-vqa_run-val-2.json")));
    assert.deepEqual(
      results.map((r: { question_id: number }) => r.question_id),
      imdb.questions.map((q) => q.question_id),
    );
    const words = (await Deno.readTextFile(ANSWERS)).split("\n");
    for (const r of results) {
      assert.ok(words.indexOf(r.answer) > 0, `answer "${r.answer}" is not a non-<unk> answer`);
    }
    assert.ok(e.json.checkpoints[1].accuracy.overall >= 0);
    assert.match(e.stderr, /overall accuracy: /);
    // --engine onnx: the export of model.2.bin gives the same answers with onnxruntime-web doing the compute
    const onnxDir = join(dir, "onnx");
    await exportOnnx(
      await createModel({
        config: await readBertConfig(MODEL[MODEL.indexOf("--config_path") + 1]),
        task: "vqa2",
        backend: new ReferenceBackend(),
        checkpoint: join(dir, "vqa_run", "model.2.bin"),
      }),
      onnxDir,
    );
    const o = await run("train/cli/eval_vqa2.ts", [
      ...MODEL,
      ...data,
      ...[
        "--engine",
        "onnx",
        "--onnx_dir",
        onnxDir,
        "--model_recover_path",
        join(dir, "onnx", "model.2.bin"),
      ],
      ...["--src_file", IMDB, "--output_dir", join(dir, "o")],
    ]);
    assert.equal(o.code, 0, o.stderr);
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(join(dir, "o", "vqa2-results-onnx-val-2.json"))),
      results,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SCST from a captioning checkpoint: greedy baseline, sampled captions, rewards in the log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp_scst_" });
  try {
    const data = [...COCO_FLAGS, "--train_batch_size", "5", "--num_train_epochs", "1"];
    const xe = await run("train/cli/train.ts", [
      ...MODEL,
      ...data,
      "--output_dir",
      join(dir, "xe"),
      "--learning_rate",
      "1e-3",
    ]);
    assert.equal(xe.code, 0, xe.stderr);
    const sc = await run("train/cli/train.ts", [
      ...MODEL,
      ...data,
      "--output_dir",
      join(dir, "scst"),
      "--model_recover_path",
      join(dir, "xe", "model.1.bin"),
      "--scst",
      "--max_pred",
      "0",
      "--mask_prob",
      "0",
      "--learning_rate",
      "1e-6",
    ]);
    assert.equal(sc.code, 0, sc.stderr);
    assert.equal(sc.json.scst, true);
    const log = await readTrainLog(join(dir, "scst"));
    const batches = log.filter((r) => r.type === "batch");
    assert.equal(batches.length, 5);
    for (const b of batches) assert.ok(Number.isFinite(b.loss) && Number.isFinite(b.reward));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
