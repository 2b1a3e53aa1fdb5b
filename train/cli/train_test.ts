import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTorchStateDict } from "@vlp/io";
import { cliCommand, runCli } from "@vlp/testing";
import { COCO_FLAGS, readTrainLog, TINY_MODEL_FLAGS } from "./test_utils.ts";

/** The flags of a tiny captioning run on the vlp-formats COCO files. */
function captionFlags(outputDir: string, extra: string[] = []): string[] {
  return [
    "--output_dir",
    outputDir,
    ...TINY_MODEL_FLAGS,
    ...COCO_FLAGS,
    "--train_batch_size",
    "4",
    "--learning_rate",
    "2e-3",
    "--warmup_proportion",
    "0.05",
    "--seed",
    "7",
    ...extra,
  ];
}

const run = runCli;

async function batchLosses(dir: string): Promise<[number, number, number][]> {
  return (await readTrainLog(dir)).filter((r) => r.type === "batch").map((r) => [r.epoch, r.batch, r.loss]);
}

Deno.test("train CLI: a short real run on the COCO files: the loss falls, checkpoints, log and plot written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp_train_" });
  try {
    const r = await run(
      "train/cli/train.ts",
      captionFlags(dir, ["--num_train_epochs", "4", "--val_split", "val"]),
    );
    assert.equal(r.code, 0, r.stderr);
    const losses: number[] = r.json.mean_loss_per_epoch;
    assert.equal(losses.length, 4);
    assert.ok(losses[3] < losses[0] - 0.3, `epoch losses ${losses}`);
    assert.equal(r.json.optimizer_steps, 4 * 7); // ⌈25 / 4⌉ = 7 batches per epoch
    assert.ok("CIDEr" in r.json.metrics_last_epoch);
    const sd = await loadTorchStateDict(join(dir, "model.4.bin"));
    assert.deepEqual(sd.get("bert.embeddings.word_embeddings.weight")!.shape, [30522, 32]);
    assert.ok(sd.has("cls.predictions.decoder.weight") && !sd.has("ans_classifier.0.weight"));
    const svg = await Deno.readTextFile(join(dir, "train_curve.svg"));
    assert.ok(svg.startsWith("<svg") && svg.includes("CIDEr"));
    assert.equal((await batchLosses(dir)).length, 28);
    assert.match(r.stderr, /epoch 4\/4 \[#+\] 7\/7 {2}loss [\d.]+ {2}[\d.]+ ex\/s {2}ETA/);
    const captions = JSON.parse(await Deno.readTextFile(join(dir, "val_captions.4.json")));
    assert.deepEqual(captions.map((c: { image_id: number }) => c.image_id), [184613, 37777]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train CLI: killed after a checkpoint and resumed, the run gives exactly the uninterrupted losses", async () => {
  // dropout, mixed attention modes, label smoothing, drop-worst from epoch 2 and an accumulation that leaves a
  // pending micro-batch at every epoch end: everything that carries state across epochs
  const extra = [
    "--num_train_epochs",
    "5",
    "--s2s_prob",
    "0.75",
    "--bi_prob",
    "0.25",
    "--gradient_accumulation_steps",
    "2",
    "--train_batch_size",
    "8",
    "--label_smoothing",
    "0.1",
    "--max_drop_worst_ratio",
    "0.25",
    "--drop_after",
    "1",
  ];
  const full = await Deno.makeTempDir({ prefix: "vlp_full_" }),
    cut = await Deno.makeTempDir({ prefix: "vlp_cut_" });
  try {
    const a = await run("train/cli/train.ts", captionFlags(full, extra));
    assert.equal(a.code, 0, a.stderr);
    // the same run, killed once its first checkpoint is complete
    const child = cliCommand("train/cli/train.ts", captionFlags(cut, extra)).spawn();
    const done = child.output();
    let killed = false;
    for (let i = 0; i < 3000 && !killed; i++) {
      try {
        await Deno.stat(join(cut, "optim.1.npz"));
        child.kill("SIGKILL");
        killed = true;
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await done;
    assert.ok(killed, "the run never wrote its first checkpoint");
    const b = await run("train/cli/train.ts", captionFlags(cut, [...extra, "--resume"]));
    assert.equal(b.code, 0, b.stderr);
    assert.ok(b.json.resumed_from >= 1 && b.json.resumed_from < 5, `resumed from ${b.json.resumed_from}`);
    assert.deepEqual(await batchLosses(cut), await batchLosses(full));
    assert.equal(b.json.optimizer_steps, a.json.optimizer_steps);
    const pa = await loadTorchStateDict(join(full, "model.5.bin")),
      pb = await loadTorchStateDict(join(cut, "model.5.bin"));
    assert.deepEqual(pb.get("vis_embed.2.weight")!.data, pa.get("vis_embed.2.weight")!.data);
    // different settings cannot resume into the same folder
    const c = await run(
      "train/cli/train.ts",
      captionFlags(cut, [...extra.slice(0, -2), "--drop_after", "2"]),
    );
    assert.equal(c.code, 1);
    assert.match(c.stderr, /Cannot resume.*drop_after is 2 now but 1/);
  } finally {
    await Deno.remove(full, { recursive: true });
    await Deno.remove(cut, { recursive: true });
  }
});

Deno.test("train CLI: a NaN loss stops the run naming the epoch, the batch and its images", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp_nan_" });
  try {
    const r = await run(
      "train/cli/train.ts",
      captionFlags(dir, ["--num_train_epochs", "2", "--learning_rate", "1e38"]),
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /the loss is (NaN|Infinity) at epoch 1, batch \d+ of 7 .*examples \[[\d, ]+\] of images \[COCO_/,
    );
    const log = (await Deno.readTextFile(join(dir, "train_log.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(log.at(-1).type, "stop");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train CLI: every flag is validated with a message naming it", async () => {
  const cases: [string[], RegExp][] = [
    [["--s2s_prob", "0.5"], /--s2s_prob 0\.5 and --bi_prob 0 must sum to 1/],
    [["--learning_rate", "fast"], /--learning_rate: must be a number/],
    [["--scst"], /--scst: needs --max_pred 0 --mask_prob 0/],
    [["--tasks", "caption"], /--tasks: must be img2txt or vqa2/],
    [["--mask_prob", "1.5"], /--mask_prob must be in \[0, 1\]/],
    [
      ["--gradient_accumulation_steps", "8"],
      /--gradient_accumulation_steps: must not exceed --train_batch_size/,
    ],
    [["--sche_mode", "cosine"], /--sche_mode: must be one of warmup_linear/],
    [["--split", "train", "dev"], /--split: must be among train, restval, val, test/],
    [["--no_such_flag"], /unknown flag --no_such_flag/],
    [["--fp16"], /--fp16: needs --backend webgpu .*the blas backend computes in float32 only/],
  ];
  for (const [extra, re] of cases) {
    const r = await run("train/cli/train.ts", captionFlags("/tmp/never-written", extra));
    assert.equal(r.code, 2, `${extra.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const noButd = captionFlags("/tmp/never-written").filter((a) => a !== "--enable_butd");
  const r = await run("train/cli/train.ts", noButd);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--enable_butd: is required/);
});
