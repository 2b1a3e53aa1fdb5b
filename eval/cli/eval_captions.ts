/**
 * Caption evaluation as coco-caption:
 * `deno task eval-captions --refs REFS.json --results RESULTS.json [--per-image] [--meteor-paraphrase F]`.
 *
 * Prints ONE JSON object on stdout: `{"metrics": {"Bleu_1".."Bleu_4", "METEOR_noparaphrase" or "METEOR",
 * "ROUGE_L", "CIDEr"}, "unavailable": {"SPICE": reason, ...}}`, plus `"per_image": {id: {...}}` with
 * `--per-image`. A human-readable table and progress go to stderr.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type Command, readText, startCommand, userPath } from "@vlp/command";
import { scoreCaptions } from "../captions.ts";
import { parseReferences, parseResults } from "../inputs.ts";
import { loadMeteorResources, type MeteorResources } from "../meteor/resources.ts";

const USAGE = `Usage: deno task eval-captions --refs REFS.json --results RESULTS.json [options]
  --refs FILE               references: {"<image_id>": ["caption", ...]} or a COCO caption annotation file
  --results FILE            results: [{"image_id": ..., "caption": "..."}] (COCO results format)
  --per-image               add "per_image" (every metric for every image) to the JSON output
  --meteor-paraphrase FILE  Meteor 1.5's paraphrase-en.gz: adds the paraphrase module, reports METEOR
  --meteor-data DIR         Meteor tables (english.words/.synsets/.exceptions);
                            default ../shared/data/meteor beside the repository root
  --subset                  score only the reference images that have a result (default: error)
  --help                    show this text`;

/** Default Meteor tables: `../shared/data/meteor` beside the repository root. */
const DEFAULT_METEOR_DATA = fileURLToPath(new URL("../../../shared/data/meteor", import.meta.url));

const Flags = z.object({
  refs: z.string({ required_error: "--refs FILE is required" }).min(1),
  results: z.string({ required_error: "--results FILE is required" }).min(1),
  "per-image": z.boolean().default(false),
  "meteor-paraphrase": z.string().min(1).optional(),
  "meteor-data": z.string().min(1).optional(),
  subset: z.boolean().default(false),
});

type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = { name: "eval-captions", usage: USAGE, flags: Flags };

/** The stderr table: one row per metric. */
function table(metrics: Record<string, number>, unavailable: Record<string, string>): string {
  const rows = Object.entries(metrics).map(([k, v]) => `  ${k.padEnd(20)} ${v.toFixed(4)}`);
  const na = Object.entries(unavailable).map(([k, v]) => `  ${k.padEnd(20)} unavailable: ${v}`);
  return ["metric               score", ...rows, ...na].join("\n");
}

async function main(flags: Flags): Promise<void> {
  const refsPath = userPath(flags.refs), resultsPath = userPath(flags.results);
  const t0 = performance.now();
  const refs = parseReferences(await readText(refsPath, "references"), refsPath);
  const results = parseResults(await readText(resultsPath, "results"), resultsPath);

  let meteor: MeteorResources | undefined;
  let meteorMissingReason: string | undefined;
  const dataDir = flags["meteor-data"] !== undefined ? userPath(flags["meteor-data"]) : DEFAULT_METEOR_DATA;
  if (existsSync(join(dataDir, "english.synsets"))) {
    console.error(`loading Meteor tables from ${dataDir}`);
    const para = flags["meteor-paraphrase"] !== undefined ? userPath(flags["meteor-paraphrase"]) : undefined;
    meteor = await loadMeteorResources(dataDir, para);
  } else if (flags["meteor-data"] !== undefined || flags["meteor-paraphrase"] !== undefined) {
    throw new Error(`Meteor tables not found: "${dataDir}" has no english.synsets`);
  } else {
    meteorMissingReason = `Meteor tables not found in ${dataDir} (pass --meteor-data DIR)`;
  }

  const r = scoreCaptions(refs, results, {
    meteor,
    meteorMissingReason,
    allowMissing: flags.subset,
    log: (m) => console.error(m),
  });
  console.error(`${r.perImage.size} images scored in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  console.error(table(r.metrics, r.unavailable));
  const out: Record<string, unknown> = { metrics: r.metrics, unavailable: r.unavailable };
  if (flags["per-image"]) out.per_image = Object.fromEntries(r.perImage);
  console.log(JSON.stringify(out));
}

if (import.meta.main) await main(startCommand(CMD));
