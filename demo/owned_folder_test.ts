import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { FileSnapshot } from "@vlp/testing";
import { LEDGER, OwnedFolder } from "./owned_folder.ts";

const write = async (dir: string, rel: string, text: string) => {
  await Deno.mkdir(join(dir, rel, ".."), { recursive: true });
  await Deno.writeTextFile(join(dir, rel), text);
};
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("OwnedFolder.claim: a new or empty folder, or its own; never a non-empty folder of someone else's", async () => {
  const root = await Deno.makeTempDir();
  try {
    const fresh = await OwnedFolder.claim(join(root, "new", "deeper"), "demo");
    ok(await exists(join(fresh.dir, LEDGER)));
    await Deno.mkdir(join(root, "empty"));
    await OwnedFolder.claim(join(root, "empty"), "demo");
    await OwnedFolder.claim(join(root, "empty"), "demo"); // its own
    await write(root, "home/thesis.tex", "years of work");
    await write(root, "home/results/table.csv", "1,2");
    const before = await FileSnapshot.of(join(root, "home"));
    await rejects(OwnedFolder.claim(join(root, "home"), "demo"), (e: Error) => {
      match(
        e.message,
        /"[^"]*home" is not empty \((results, thesis\.tex|thesis\.tex, results)\) and demo did not make it \(no vlp_outputs\.json\)/,
      );
      return true;
    });
    await before.assertUnchanged();
    await rejects(
      OwnedFolder.claim(join(root, "empty"), "make-scenes"),
      /holds the outputs of demo .*not of make-scenes/,
    );
    await write(root, "a_file", "x");
    await rejects(OwnedFolder.claim(join(root, "a_file"), "demo"), /is a file, not a folder/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("OwnedFolder.clear: removes what was recorded, a cut step's files and temporaries; anything else stops it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = join(root, "run");
    let owned = await OwnedFolder.claim(dir, "demo");
    await owned.begin("pretrain");
    await write(dir, "pretrain/model.1.bin", "w1");
    await write(dir, "pretrain/sub/log.jsonl", "{}");
    await owned.record("pretrain");
    await owned.begin("summary.json");
    await write(dir, "summary.json", "{}");
    await owned.record("summary.json");
    await owned.begin("caption"); // cut short: its files are not recorded
    await write(dir, "caption/model.1.bin", "half a run");
    await write(dir, "caption/.model.2.bin.tmp-1-0123abcd", "half");
    await write(dir, "notes.txt", "the user's, outside the parts");

    // a user's file inside a part stops the clearing before anything goes
    owned = await OwnedFolder.claim(dir, "demo");
    await write(dir, "pretrain/mine.txt", "the user's");
    const before = await FileSnapshot.of(dir);
    await rejects(owned.clear(["pretrain", "caption", "summary.json"]), (e: Error) => {
      match(
        e.message,
        /holds 1 file\(s\) it did not write or that changed since \("pretrain\/mine\.txt"\): nothing removed/,
      );
      return true;
    });
    await before.assertUnchanged();
    await Deno.remove(join(dir, "pretrain", "mine.txt"));
    // a recorded file changed since: the same
    await write(dir, "summary.json", '{"edited": true}');
    await rejects(owned.clear(["summary.json"]), /"summary\.json"/);
    await Deno.remove(join(dir, "summary.json"));

    await owned.clear(["pretrain", "caption", "summary.json"]);
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["notes.txt", LEDGER]);
    equal(await Deno.readTextFile(join(dir, "notes.txt")), "the user's, outside the parts");
    const ledger = JSON.parse(await Deno.readTextFile(join(dir, LEDGER)));
    deepEqual([ledger.files, ledger.pending], [{}, {}]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
