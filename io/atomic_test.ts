import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { isTemporaryName, removeStaleTemporaries, temporaryPath, writeTextAtomic } from "./atomic.ts";
import { H5Writer } from "./h5_writer.ts";
import { endedPid } from "@vlp/testing";

Deno.test("temporary names: hidden, recognised, never a data file's name", () => {
  const t = temporaryPath("/runs/x/model.3.bin");
  ok(t.startsWith("/runs/x/.model.3.bin.tmp-"), t);
  ok(isTemporaryName(t.split("/").pop()!));
  for (
    const name of ["model.3.bin", ".hidden", "x.tmp-1-0123abcd", ".x.tmp-1-0123abc", ".x.tmp-a-0123abcd"]
  ) {
    equal(isTemporaryName(name), false, name);
  }
  ok(!/^model\..*\.bin$/.test(t.split("/").pop()!));
});

Deno.test("removeStaleTemporaries: a killed writer's temporaries go, a running one's and every other file stay", async () => {
  const dir = await Deno.makeTempDir();
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const dead = await endedPid();
    await Deno.mkdir(join(dir, "sub"));
    const files: Record<string, string> = {
      [`.model.3.bin.tmp-${dead}-0123abcd`]: "half a checkpoint",
      [`sub/.optim.3.npz.tmp-${dead}-89abcdef`]: "half",
      [`.results.json.tmp-${sleeper.pid}-0123abcd`]: "being written",
      [`.mine.tmp-${Deno.pid}-0123abcd`]: "ours, in progress",
      "model.3.bin": "weights",
      ".hidden": "user's",
      [`notes.tmp-${dead}-0123abcd`]: "user's",
    };
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
    deepEqual(await removeStaleTemporaries(dir), [join(dir, `.model.3.bin.tmp-${dead}-0123abcd`)]);
    deepEqual(await removeStaleTemporaries(dir, { recursive: true }), [
      join(dir, "sub", `.optim.3.npz.tmp-${dead}-89abcdef`),
    ]);
    const gone = [`.model.3.bin.tmp-${dead}-0123abcd`, `sub/.optim.3.npz.tmp-${dead}-89abcdef`];
    for (const [name, text] of Object.entries(files)) {
      if (!gone.includes(name)) equal(await Deno.readTextFile(join(dir, name)), text, name);
    }
    deepEqual(await removeStaleTemporaries(join(dir, "absent")), []);
  } finally {
    sleeper.kill();
    await sleeper.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomic writers leave no temporary file behind, on success or failure", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeTextAtomic(join(dir, "a.txt"), "x");
    const w = await H5Writer.create(join(dir, "b.h5"));
    await rejects(w.add("bad/name", { dtype: "float32", shape: [1], data: new Float32Array(1) }));
    await w.abort();
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
