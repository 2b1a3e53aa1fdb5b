import assert from "node:assert/strict";
import { formatDuration, ProgressBar } from "./progress.ts";
import { lossPlotSvg } from "./plot.ts";

Deno.test("formatDuration() prints hours, minutes and seconds", () => {
  assert.equal(formatDuration(42.4), "42s");
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(3720), "1h02m");
  assert.equal(formatDuration(Infinity), "?");
});

Deno.test("ProgressBar: examples/s, smoothed loss and ETA; lines only every interval off a terminal", () => {
  const out: string[] = [];
  let now = 0;
  const bar = new ProgressBar({
    epochs: 2,
    batchesPerEpoch: 4,
    write: (t) => out.push(t),
    tty: false,
    intervalS: 10,
    now: () => now,
  });
  now = 1000;
  bar.update({ epoch: 1, batch: 1, examples: 8, loss: 4 });
  now = 2000;
  bar.update({ epoch: 1, batch: 2, examples: 16, loss: 2 }); // within the interval: no line
  now = 4000;
  bar.update({ epoch: 1, batch: 4, examples: 32, loss: 2 }); // end of the epoch: always a line
  bar.endEpoch("epoch 1: done");
  assert.equal(out.length, 3);
  assert.equal(out[0], "epoch 1/2 [######..................] 1/4  loss 4.0000  8.0 ex/s  ETA 7s\n");
  assert.match(out[1], /^epoch 1\/2 \[#{24}\] 4\/4 {2}loss 3\.6200 {2}8\.0 ex\/s {2}ETA 7s\n$/);
  assert.equal(out[2], "epoch 1: done\n");
});

Deno.test("lossPlotSvg(): a loss panel and, with metrics, a validation panel; non-finite values skipped", () => {
  const svg = lossPlotSvg({
    losses: [3, 2.5, NaN, 2.1, 2],
    batchesPerEpoch: 2,
    metrics: [{ epoch: 1, values: { CIDEr: 0.1 } }, { epoch: 2, values: { CIDEr: 0.3 } }],
  });
  assert.ok(svg.startsWith("<svg") && svg.trimEnd().endsWith("</svg>"));
  assert.ok(svg.includes("validation") && svg.includes("CIDEr"));
  assert.ok(!svg.includes("NaN"));
  const lossOnly = lossPlotSvg({ losses: [1], batchesPerEpoch: 1, metrics: [], title: "a <b> & c" });
  assert.ok(!lossOnly.includes("validation") && lossOnly.includes("a &lt;b&gt; &amp; c"));
});
