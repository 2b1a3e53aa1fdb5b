/**
 * train never starts afresh over checkpoints it cannot resume, nor steps back silently: each case of a
 * training output folder (output_folder.ts) on a tiny run, asserting the exit status, the message and that
 * every file that was there is byte-identical afterwards (or, where the run goes ahead, exactly what it
 * replaced).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readNpz, writeNpz } from "@vlp/io";
import { FileSnapshot, runCli } from "@vlp/testing";
import { COCO_FLAGS, readTrainLog, TINY_MODEL_FLAGS } from "./test_utils.ts";

const EPOCHS = 3;

/** A tiny captioning run of 3 epochs of 13 micro-batches, with a pending micro-batch at every epoch end. */
function flags(dir: string, extra: string[] = []): string[] {
  return [
    ...["--output_dir", dir, ...TINY_MODEL_FLAGS, ...COCO_FLAGS],
    ...[
      "--num_train_epochs",
      String(EPOCHS),
      "--train_batch_size",
      "8",
      "--gradient_accumulation_steps",
      "3",
    ],
    ...["--learning_rate", "2e-3", "--seed", "7", "--num_workers", "0"],
    ...extra,
  ];
}

const train = (dir: string, extra: string[] = []) => runCli("train/cli/train.ts", flags(dir, extra));

async function copyFolder(from: string, to: string): Promise<string> {
  await Deno.mkdir(to);
  for await (const e of Deno.readDir(from)) await Deno.copyFile(join(from, e.name), join(to, e.name));
  return to;
}

async function batchLosses(dir: string): Promise<number[][]> {
  return (await readTrainLog(dir)).filter((r) => r.type === "batch").map((r) => [r.epoch, r.batch, r.loss]);
}

/** A refusal: exit 1, one line (no stack trace) matching every pattern, nothing in the folder changed. */
async function assertRefused(
  dir: string,
  extra: string[],
  patterns: RegExp[],
  code = 1,
): Promise<void> {
  const before = await FileSnapshot.of(dir);
  const r = await train(dir, extra);
  assert.equal(r.code, code, r.stderr);
  const line = r.stderr.trim().split("\n").at(-1)!;
  assert.ok(line.startsWith("train: "), r.stderr);
  for (const re of patterns) assert.match(line, re);
  assert.ok(!/\n\s+at /.test(r.stderr), r.stderr);
  await before.assertUnchanged(`${extra.join(" ")}: the folder changed`);
}

const WAYS_ON = [/--overwrite_output_dir/, /another --output_dir/, /Nothing was changed/];

/** A temporary file of an atomic write whose process no longer runs. */
async function deadTemporary(dir: string, name: string): Promise<string> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  const path = join(dir, `.${name}.tmp-${child.pid}-0123abcd`);
  await Deno.writeTextFile(path, "half a file");
  return path;
}

Deno.test("train output folder: what it resumes, what it refuses, and starting over", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "vlp_train_folder_" });
  try {
    const base = join(root, "base");
    const full = await train(base);
    assert.equal(full.code, 0, full.stderr);
    const fullLosses = await batchLosses(base);
    assert.equal(fullLosses.length, EPOCHS * 13); // micro-batches of ⌊8 / 3⌋ = 2 of 25 examples
    let n = 0;
    const copy = () => copyFolder(base, join(root, `case${++n}`));

    await t.step("a damaged newest optim.N.npz is refused, naming it and --resume_from N-1", async () => {
      for (
        const [damage, reason] of [
          [(b: Uint8Array) => b.slice(0, b.length >> 1), /truncated/], // cut by a full disk or a copy
          [(b: Uint8Array) => b.map(() => 0x41), /not a zip file/],
          [(b: Uint8Array) => b.map((x, i) => (i === b.length >> 1 ? x ^ 0x10 : x)), /CRC/], // one bit flipped
        ] as const
      ) {
        const dir = await copy();
        const state = join(dir, "optim.3.npz");
        await Deno.writeFile(state, damage(await Deno.readFile(state)));
        await deadTemporary(dir, "model.3.bin"); // not removed by a refused run
        await assertRefused(dir, [], [
          /optim\.3\.npz" is damaged/,
          reason,
          new RegExp(
            `--resume_from ".*${dir.split("/").at(-1)}/model\\.2\\.bin" to resume from epoch 2 on purpose`,
          ),
          /not step back/,
          ...WAYS_ON,
        ]);
      }
      // missing arrays: it reads back, but does not fit the model
      const dir = await copy();
      const state = join(dir, "optim.3.npz");
      const arrays = await readNpz(state);
      arrays.delete([...arrays.keys()].find((k) => k.startsWith("v."))!);
      await writeNpz(state, arrays);
      await assertRefused(dir, ["--resume"], [
        /does not fit the model: ".*optim\.3\.npz" is damaged \("v\..*" is missing\)/,
        /--resume_from ".*model\.2\.bin"/,
        ...WAYS_ON,
      ]);
    });

    await t.step(
      "the original's optim.N.bin is refused, offering its weights to --model_recover_path",
      async () => {
        const dir = await copy();
        await Deno.rename(join(dir, "optim.3.npz"), join(dir, "optim.3.bin"));
        await assertRefused(dir, [], [
          /optim\.3\.bin", the original's optimiser state \(PyTorch\)/,
          /--model_recover_path ".*model\.3\.bin" with another --output_dir/,
          /--resume_from ".*model\.2\.bin"/,
          ...WAYS_ON,
        ]);
      },
    );

    await t.step(
      "a model without optimiser state is refused (unless a kill left it: then it is redone)",
      async () => {
        const dir = await copy();
        await Deno.remove(join(dir, "optim.3.npz"));
        // the log says epoch 3 was completed: this model.3.bin is not a leftover of a killed write
        await assertRefused(dir, [], [
          /model\.3\.bin" without optimiser state \(".*optim\.3\.npz"\): it cannot be resumed exactly/,
          /--resume_from ".*model\.2\.bin"/,
          ...WAYS_ON,
        ]);
        // a kill between the model's write and the state's: the log has no end of epoch 3
        const log = (await Deno.readTextFile(join(dir, "train_log.jsonl"))).split("\n");
        const cut = log.filter((l) => !l.includes('"type":"epoch","epoch":3'));
        await Deno.writeTextFile(join(dir, "train_log.jsonl"), cut.join("\n"));
        const r = await train(dir);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /model\.3\.bin" is an incomplete checkpoint .* epoch 3 is trained again/);
        assert.equal(r.json.resumed_from, 2);
        assert.deepEqual(await batchLosses(dir), fullLosses);
      },
    );

    await t.step(
      "a log and opt.json without any checkpoint: refused unless the same run's first epoch",
      async () => {
        const dir = join(root, `case${++n}`);
        await Deno.mkdir(dir);
        await Deno.copyFile(join(base, "train_log.jsonl"), join(dir, "train_log.jsonl"));
        await assertRefused(dir, [], [
          /holds "train_log\.jsonl" of an earlier run but no checkpoint: a fresh run would replace them/,
          ...WAYS_ON,
        ]);
        // the log and settings of a run killed in its first epoch, but with other settings than this run's
        const log = (await Deno.readTextFile(join(base, "train_log.jsonl"))).split("\n");
        await Deno.writeTextFile(
          join(dir, "train_log.jsonl"),
          log.filter((l) => l.includes('"epoch":1,"batch"')).join("\n"),
        );
        await Deno.copyFile(join(base, "opt.json"), join(dir, "opt.json"));
        await assertRefused(dir, ["--seed", "8"], [
          /opt\.json" has other settings \(seed is 8 now but 7 there\)/,
          ...WAYS_ON,
        ]);
        // with this run's settings it is a restart of that run
        const r = await train(dir);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /restarting a run with these settings/);
        assert.equal(r.json.resumed_from, null);
        assert.deepEqual(await batchLosses(dir), fullLosses);
      },
    );

    await t.step("--resume_from N-1 continues exactly, replacing the later epoch", async () => {
      const dir = await copy();
      const state = join(dir, "optim.3.npz");
      await Deno.writeFile(state, (await Deno.readFile(state)).slice(0, 1000));
      await assertRefused(dir, ["--resume_from", join(dir, "model.3.bin")], [
        /its optimiser state is damaged/,
      ]);
      await assertRefused(dir, ["--resume_from", join(base, "model.2.bin")], [
        /must be a model\.K\.bin of --output_dir/,
      ]);
      await assertRefused(dir, ["--resume_from", join(dir, "model.9.bin")], [/model\.9\.bin": no such file/]);
      const r = await train(dir, ["--resume_from", join(dir, "model.2.bin")]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /resuming from epoch 2 on purpose: "model\.3\.bin", "optim\.3\.npz" of later epochs/,
      );
      assert.equal(r.json.resumed_from, 2);
      assert.equal(r.json.optimizer_steps, full.json.optimizer_steps);
      assert.deepEqual(await batchLosses(dir), fullLosses);
      for (const f of ["model.3.bin", "optim.3.npz", "model.1.bin"]) {
        assert.deepEqual(await Deno.readFile(join(dir, f)), await Deno.readFile(join(base, f)), f);
      }
    });

    await t.step(
      "--overwrite_output_dir starts over, removing only the earlier run's training files",
      async () => {
        const dir = await copy();
        await Deno.writeTextFile(join(dir, "notes.txt"), "the user's own file");
        await assertRefused(
          dir,
          ["--overwrite_output_dir", "--resume"],
          [/cannot be combined with --resume/],
          2,
        );
        await assertRefused(
          dir,
          ["--overwrite_output_dir", "--model_recover_path", join(dir, "model.3.bin")],
          [/--output_dir ".*model\.3\.bin" is the file of --model_recover_path/],
          2,
        );
        const notes = await FileSnapshot.of(join(dir, "notes.txt"));
        // other settings (1 epoch, another seed): a run that could not resume here
        const r = await train(dir, ["--overwrite_output_dir", "--seed", "8"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /removed 9 training file\(s\) of the earlier run/);
        assert.equal(r.json.resumed_from, null);
        await notes.assertUnchanged();
        const names = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
        assert.deepEqual(names, [
          "model.1.bin",
          "model.2.bin",
          "model.3.bin",
          "notes.txt",
          "opt.json",
          "optim.1.npz",
          "optim.2.npz",
          "optim.3.npz",
          "train_curve.svg",
          "train_log.jsonl",
        ]);
        assert.equal(JSON.parse(await Deno.readTextFile(join(dir, "opt.json"))).seed, 8);
        assert.notDeepEqual(await batchLosses(dir), fullLosses);
      },
    );

    await t.step(
      "temporaries of killed writes are removed by the next run, never taken for data",
      async () => {
        const dir = await copy();
        await Deno.remove(join(dir, "model.3.bin"));
        await Deno.remove(join(dir, "optim.3.npz"));
        const dead = [await deadTemporary(dir, "model.3.bin"), await deadTemporary(dir, "optim.3.npz")];
        const live = join(dir, `.optim.4.npz.tmp-${Deno.pid}-0123abcd`); // this test runs: kept
        await Deno.writeTextFile(live, "being written");
        const r = await train(dir);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.json.resumed_from, 2);
        for (const p of dead) {
          assert.match(
            r.stderr,
            new RegExp(`removed .*${p.split("/").at(-1)!.replaceAll(".", "\\.")}, a temporary`),
          );
          await assert.rejects(Deno.stat(p), Deno.errors.NotFound);
        }
        assert.equal(await Deno.readTextFile(live), "being written");
        assert.deepEqual(await batchLosses(dir), fullLosses);
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
