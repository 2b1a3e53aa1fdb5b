import assert from "node:assert/strict";
import { formatDuration, Progress } from "./progress.ts";

Deno.test("Progress: lines with count, rate and ETA; non-terminal output is throttled, the last line once", () => {
  const out: string[] = [];
  const bar = new Progress(10, "images", { tty: false, write: (s) => out.push(s) });
  bar.tick(4); // throttled (first 5 s)
  bar.tick(6); // complete: printed
  bar.done(); // not again
  assert.equal(out.length, 1);
  assert.match(out[0], /^\[#{30}\] 10\/10 images {2}[\d.]+ images\/s {2}elapsed 0:00 {2}ETA 0:00\n$/);
  const tty: string[] = [];
  const b2 = new Progress(4, "images", { tty: true, write: (s) => tty.push(s) });
  b2.tick(1);
  b2.done();
  assert.ok(tty[0].startsWith("\r[#######") && tty.at(-1)!.endsWith("\n"));
  assert.equal(formatDuration(75), "1:15");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(Infinity), "?");
});
