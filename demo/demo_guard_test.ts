/**
 * `deno task demo --dir DIR` never removes or replaces what it did not write: a non-empty folder it did not
 * make is refused, and in its own folder a file of the user's inside one of its parts stops the run, before
 * any work, with every file byte-identical. (What a finished run records is checked by the smoke test.)
 *
 * @module
 */
import { equal, match } from "node:assert/strict";
import { join } from "node:path";
import { FileSnapshot, runCli } from "@vlp/testing";
import { OwnedFolder } from "./owned_folder.ts";

const run = (dir: string) => runCli("demo/cli/demo.ts", ["--smoke", "--quiet", "--dir", dir]);

Deno.test("demo --dir: a folder it did not make is refused; a user's file among its outputs stops it", async () => {
  const root = await Deno.makeTempDir({ prefix: "vlp_demo_guard_" });
  try {
    // a home-like folder with sub-folders of the demo's names
    const home = join(root, "home");
    for (const d of ["results", "vqa", "caption", "pretrain", "untrained"]) {
      await Deno.mkdir(join(home, d), { recursive: true });
      await Deno.writeTextFile(join(home, d, "paper_figures.csv"), `${d}: months of work`);
    }
    const before = await FileSnapshot.of(home);
    const r = await run(home);
    equal(r.code, 1, r.stderr);
    match(r.stderr, /^demo: ".*home" is not empty \(.*\) and demo did not make it \(no vlp_outputs\.json\)/);
    equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    await before.assertUnchanged("the demo touched a folder it did not make");

    // the demo's own folder (its ledger) with a file of the user's in pretrain/
    const mine = join(root, "mine");
    await OwnedFolder.claim(mine, "demo");
    await Deno.mkdir(join(mine, "pretrain"));
    await Deno.writeTextFile(join(mine, "pretrain", "model.9.bin"), "a checkpoint the user put here");
    const ours = await FileSnapshot.of(mine);
    const again = await run(mine);
    equal(again.code, 1, again.stderr);
    match(
      again.stderr,
      /holds 1 file\(s\) it did not write or that changed since \("pretrain\/model\.9\.bin"\): nothing removed/,
    );
    await ours.assertUnchanged("the demo removed a file it did not write");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
