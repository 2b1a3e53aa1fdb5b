/**
 * The CI smoke run of the demo: `deno task demo --smoke` end to end (scenes, pre-training, caption and VQA
 * fine-tuning, beam search, scoring, report) on a small scene set, through the same CLIs as the full demo.
 * The demo itself fails unless the trained model beats the untrained one by a wide margin; this test also
 * checks its JSON line and report, and opens the report in headless Chromium when available.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "@vlp/testing";
import { SMOKE_MARGINS } from "./cli/demo.ts";
import { DEMO_PARTS } from "./pipeline.ts";
import { LEDGER } from "./owned_folder.ts";
import { ARTEFACTS, checkReportInBrowser, chromiumAvailable } from "./report/browser.ts";

Deno.test({
  name: "deno task demo --smoke: the trained model beats the untrained one by a wide margin; report renders",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vlp_demo_smoke_" });
    try {
      const r = await runCli("demo/cli/demo.ts", ["--smoke", "--quiet", "--dir", dir]);
      equal(r.code, 0, `demo --smoke failed:\n${r.stderr.slice(-3000)}\n${r.stdout}`);
      const fig = r.json;
      deepEqual(
        Object.keys(fig).slice(0, 7),
        ["CIDEr", "Bleu_4", "METEOR_noparaphrase", "ROUGE_L", "vqa_accuracy", "untrained", "blind"],
      );
      ok(fig.CIDEr - fig.untrained.CIDEr >= SMOKE_MARGINS.CIDEr);
      ok(fig.vqa_accuracy - fig.untrained.vqa_accuracy >= SMOKE_MARGINS.vqa_accuracy);
      ok(fig.CIDEr > fig.blind.CIDEr, "the captions use the image: better than the best fixed caption");
      ok(r.stdout.includes("CIDEr-D") && r.stdout.includes("report:"));
      deepEqual(JSON.parse(await Deno.readTextFile(join(dir, "summary.json"))), fig);
      const html = await Deno.readTextFile(join(dir, "report", "index.html"));
      ok(!/https?:|<script/i.test(html));
      for (const stage of ["pretrain", "caption", "vqa"]) {
        ok((await Deno.stat(join(dir, stage, "train_log.jsonl"))).size > 0, stage);
      }
      // every file the run wrote is in its ledger (so a rerun removes exactly these), nothing pending
      const ledger = JSON.parse(await Deno.readTextFile(join(dir, LEDGER)));
      const written: string[] = [];
      for (const part of DEMO_PARTS) {
        const walk = async (rel: string): Promise<void> => {
          const info = await Deno.stat(join(dir, rel));
          if (!info.isDirectory) {
            written.push(rel);
            equal(ledger.files[rel]?.size, info.size, rel);
          } else for await (const e of Deno.readDir(join(dir, rel))) await walk(join(rel, e.name));
        };
        await walk(part);
      }
      deepEqual(Object.keys(ledger.files).sort(), written.sort());
      deepEqual(ledger.pending, {});
      if (chromiumAvailable()) {
        await Deno.mkdir(ARTEFACTS, { recursive: true });
        const seen = await checkReportInBrowser(
          join(dir, "report", "index.html"),
          join(ARTEFACTS, "smoke_report.png"),
        );
        ok(seen.captions.length > 0 && seen.captions.every((c) => c.length > 0));
        ok(
          seen.chartLines.length >= 6 && seen.chartLines.every((l) => l.width > 50),
          JSON.stringify(seen.chartLines),
        );
        deepEqual(seen.externalRequests, []);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
