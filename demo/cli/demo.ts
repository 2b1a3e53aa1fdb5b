/**
 * `deno task demo [--smoke] [--dir DIR] [--backend blas|reference] [--quiet]`: the whole VLP pipeline on a
 * synthetic scene set, with the same commands a user runs on COCO — make the scenes (or reuse them),
 * pre-train (seq2seq 0.75 / bidirectional 0.25), fine-tune captioning, caption the test scenes with beam
 * search and score them, fine-tune VQA and score it — for the trained and the untrained model. Prints a
 * summary table and the report's path (relative to the folder the task was run from when it lies inside it);
 * the last stdout line is ONE JSON object of the figures, also written to `DIR/summary.json`.
 *
 * `--smoke` runs a small version (CI) and fails (exit 1) unless the trained model beats the untrained one
 * by a wide margin. Exit status 2 for bad flags, 1 for a failed step.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { FULL, SMOKE, TARGETS } from "../config.ts";
import { type ModelScores, runDemo } from "../pipeline.ts";
import { reportData, writeReport } from "../report/build.ts";
import { writeJsonAtomic } from "../scenes/files.ts";
import { ROOT } from "../tasks.ts";
import { type Command, shownPath, startCommand, userPath } from "@vlp/command";

const USAGE = `Usage: deno task demo [--smoke] [--dir DIR] [--backend blas|reference] [--quiet]
  --smoke        the small version (CI): fails unless the trained model beats the untrained one widely
  --dir DIR      where the scenes, runs and report go (default runs/demo, runs/demo-smoke with --smoke)
  --backend B    blas | reference (default blas)
  --quiet        no progress of the steps
  --help         show this text`;

const Flags = z.object({
  smoke: z.boolean().default(false),
  dir: z.string().min(1).optional(),
  backend: z.enum(["blas", "reference"]).default("blas"),
  quiet: z.boolean().default(false),
});

/** The smoke run's bar: trained minus untrained, per metric. */
export const SMOKE_MARGINS = { CIDEr: 0.5, vqa_accuracy: 25 } as const;

/** The figures of one model in the closing JSON line. */
function figures(s: ModelScores) {
  return {
    CIDEr: s.captions.CIDEr ?? null,
    Bleu_4: s.captions.Bleu_4 ?? null,
    METEOR_noparaphrase: s.captions.METEOR_noparaphrase ?? null,
    ROUGE_L: s.captions.ROUGE_L ?? null,
    vqa_accuracy: s.vqa.overall,
  };
}

function table(rows: [string, string, string, string, string][]): string {
  const w = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, k) =>
    r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ") +
    (k === 0 ? "\n" + w.map((n) => "-".repeat(n)).join("  ") : "")
  ).join("\n");
}

const CMD: Command<z.infer<typeof Flags>> = { name: "demo", usage: USAGE, flags: Flags };

if (import.meta.main) {
  const flags = startCommand(CMD);
  const config = flags.smoke ? SMOKE : FULL;
  const dir = flags.dir ? userPath(flags.dir) : join(ROOT, "runs", flags.smoke ? "demo-smoke" : "demo");
  const t0 = performance.now();
  try {
    const run = await runDemo({ dir, config, verbose: !flags.quiet, backend: flags.backend });
    const data = await reportData({ run });
    const report = shownPath(await writeReport(dir, data));
    const seconds = (performance.now() - t0) / 1000;
    const t = figures(run.trained), u = figures(run.untrained);
    const fmt = (x: number | null, d = 3) => (x === null ? "n/a" : x.toFixed(d));
    const rows: [string, string, string, string, string][] = [
      ["test split", "untrained", "blind", "trained", "target"],
      ["BLEU-4", fmt(u.Bleu_4), "", fmt(t.Bleu_4), ""],
      ["METEOR (no paraphrase)", fmt(u.METEOR_noparaphrase), "", fmt(t.METEOR_noparaphrase), ""],
      ["ROUGE-L", fmt(u.ROUGE_L), "", fmt(t.ROUGE_L), ""],
      ["CIDEr-D", fmt(u.CIDEr), fmt(data.blind?.CIDEr ?? null), fmt(t.CIDEr), `>= ${TARGETS.CIDEr}`],
      [
        "VQA accuracy (%)",
        fmt(u.vqa_accuracy, 2),
        fmt(data.blind?.vqa ?? null, 2),
        fmt(t.vqa_accuracy, 2),
        `>= ${TARGETS.vqa_accuracy}`,
      ],
    ];
    console.log(table(rows));
    const meteorWhy = run.trained.unavailable.METEOR_noparaphrase ?? run.trained.unavailable.METEOR;
    if (t.METEOR_noparaphrase === null && meteorWhy) console.log(`METEOR unavailable: ${meteorWhy}`);
    console.log(`backend ${run.backend}; ${seconds.toFixed(1)} s in all; report: ${report}`);
    const out = {
      ...t,
      untrained: u,
      blind: data.blind ? { CIDEr: data.blind.CIDEr, vqa_accuracy: data.blind.vqa } : undefined,
      seconds: Number(seconds.toFixed(1)),
      mode: config.name,
      backend: run.backend,
      report,
    };
    let failed = "";
    if (flags.smoke) {
      const dc = (t.CIDEr ?? 0) - (u.CIDEr ?? 0), dv = t.vqa_accuracy - u.vqa_accuracy;
      if (!(dc >= SMOKE_MARGINS.CIDEr && dv >= SMOKE_MARGINS.vqa_accuracy)) {
        failed = `smoke: the trained model does not beat the untrained one by the required margin ` +
          `(CIDEr-D +${dc.toFixed(3)}, needs +${SMOKE_MARGINS.CIDEr}; VQA +${
            dv.toFixed(2)
          }, needs +${SMOKE_MARGINS.vqa_accuracy})`;
      }
    }
    await writeJsonAtomic(join(dir, "summary.json"), out);
    console.log(JSON.stringify(out));
    if (failed) {
      console.error(`demo: ${failed}`);
      Deno.exit(1);
    }
  } catch (e) {
    console.error(`demo: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
