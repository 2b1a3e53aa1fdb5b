import { equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "./flags.ts";
import { checkOutputDir, checkOutputFile, refuseOverwritingInputs, shownPath, userPath } from "./paths.ts";

/** The error a promise rejects with (fails when it resolves). */
async function rejects(p: Promise<unknown>): Promise<Error & { flag?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

Deno.test("userPath and shownPath: relative to INIT_CWD (where the user ran npx)", async () => {
  const before = Deno.env.get("INIT_CWD");
  const user = await Deno.makeTempDir(), elsewhere = await Deno.makeTempDir();
  try {
    Deno.env.set("INIT_CWD", user);
    equal(userPath("data/x.json"), join(user, "data", "x.json"));
    equal(userPath(join(elsewhere, "x.json")), join(elsewhere, "x.json"));
    equal(shownPath(join(user, "runs", "demo", "report.html")), join("runs", "demo", "report.html"));
    equal(shownPath(join(elsewhere, "report.html")), join(elsewhere, "report.html"));
  } finally {
    if (before === undefined) Deno.env.delete("INIT_CWD");
    else Deno.env.set("INIT_CWD", before);
    await Deno.remove(user);
    await Deno.remove(elsewhere);
  }
});

Deno.test("refuseOverwritingInputs: the same file by path, relative path, symbolic link, hard link or folder link", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ckpt = join(dir, "model.3.bin"), src = join(dir, "dataset_coco.json");
    await Deno.writeTextFile(ckpt, "weights");
    await Deno.writeTextFile(src, "{}");
    await Deno.symlink(ckpt, join(dir, "sym.bin"));
    await Deno.link(ckpt, join(dir, "hard.bin"));
    await Deno.symlink(dir, join(dir, "again"));
    const inputs = [{ name: "--model_recover_path", path: ckpt }, { name: "--src_file", path: src }];
    const refused = async (out: string, text: RegExp) => {
      const e = await rejects(refuseOverwritingInputs([{ name: "--output_file", path: out }], inputs));
      ok(e instanceof UsageError, String(e));
      equal(e.flag, "--output_file");
      match(e.message, text);
    };
    await refused(
      ckpt,
      /^--output_file ".*model\.3\.bin" is the file of --model_recover_path ".*": writing it would replace an input; choose another --output_file$/,
    );
    await refused(join(dir, "x", "..", "dataset_coco.json"), /is the file of --src_file/);
    for (const other of ["sym.bin", "hard.bin", "again/model.3.bin"]) {
      await refused(
        join(dir, other),
        /is the file of --model_recover_path .* \(the same file by another path\)/,
      );
    }
    const folder = await rejects(
      refuseOverwritingInputs([{ name: "--output_file", path: dir }], [{ name: "--image_root", path: dir }]),
    );
    match(folder.message, /is the folder of --image_root/);
    const twice = await rejects(
      refuseOverwritingInputs(
        [{ name: "--output_file", path: join(dir, "a.json") }, { name: "report", path: join(dir, "a.json") }],
        inputs,
      ),
    );
    match(twice.message, /^report ".*a\.json" is the file of --output_file .*another output/);
    // distinct files, and an output not there yet in a folder not there yet, pass
    await refuseOverwritingInputs(
      [{ name: "--output_file", path: join(dir, "results.json") }, {
        name: "x",
        path: join(dir, "new", "y"),
      }],
      inputs,
    );
    equal(await Deno.readTextFile(ckpt), "weights");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkOutputFile / checkOutputDir: a folder, a missing folder, a file in the way, no room", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "f.txt");
    await Deno.writeTextFile(file, "mine");
    await checkOutputFile(join(dir, "out.json"), "--output_file", { bytes: 1000 });
    await checkOutputFile(file, "--output_file"); // replacing a file is the caller's decision
    const msg = async (p: Promise<void>) => (await rejects(p)).message;
    match(
      await msg(checkOutputFile(dir, "--output_file")),
      /^cannot write --output_file ".*": it is a folder$/,
    );
    match(
      await msg(checkOutputFile(join(dir, "no", "out.json"), "--output_file")),
      /the folder ".*no" does not exist$/,
    );
    await checkOutputFile(join(dir, "no", "out.json"), "--output_file", { create: true });
    match(
      await msg(checkOutputFile(join(file, "out.json"), "--output_file", { create: true })),
      /".*f\.txt" is a file, not a folder$/,
    );
    match(
      await msg(checkOutputFile(join(dir, "out.json"), "--output_file", { bytes: 2 ** 60 })),
      /it needs about .* MiB and ".*" has .* MiB free$/,
    );
    await checkOutputDir(join(dir, "new", "deeper"), "--out", { create: true });
    match(
      await msg(checkOutputDir(join(dir, "new"), "--out")),
      /^cannot write into --out ".*new": it does not exist$/,
    );
    match(await msg(checkOutputDir(file, "--out", { create: true })), /f\.txt" is a file, not a folder$/);
    equal(await Deno.readTextFile(file), "mine");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
