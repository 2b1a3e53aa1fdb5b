/**
 * How a bench script ends: ONE JSON line of its figures on stdout and, with `--record`, the same figures as a
 * record file `bench/results/<script>.json` (written atomically) with the command line, the date and the
 * machine's load, from which `deno task bench:table` generates the README's benchmark table.
 *
 * @module
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { writeTextAtomic } from "@vlp/io";

/** The folder of the records. */
export const RESULTS_DIR: string = fileURLToPath(new URL("./results/", import.meta.url));

/** The `--record` flag of every bench script (spread into its flag schema). */
export const recordFlag = { record: z.boolean().default(false) };

/** The usage line of `--record`. */
export const RECORD_USAGE =
  "  --record  also write the figures to bench/results/<script>.json (for the README table)";

/** A record file: the figures of one run of a bench script and how they were obtained. */
export interface BenchRecord {
  /** the script, relative to the repository root (`bench/decode_bench.ts`) */
  script: string;
  /** its command-line arguments (without `--record`) */
  args: string[];
  /** when the run ended (ISO 8601) */
  date: string;
  machine: { os: string; cpus: number; loadavg: number[]; deno: string };
  /** the JSON line the script printed */
  figures: Record<string, unknown>;
}

/** The record file of a script: `bench/results/<script name without .ts>.json`. */
export function recordPath(script: string): string {
  return join(RESULTS_DIR, `${basename(script, ".ts")}.json`);
}

/**
 * Print the figures as ONE JSON line; when `record` is true also write them as the script's record.
 * `scriptUrl` is the script's `import.meta.url`.
 */
export async function reportFigures(
  scriptUrl: string,
  figures: Record<string, unknown>,
  record: boolean,
): Promise<void> {
  console.log(JSON.stringify(figures));
  if (!record) return;
  const script = `bench/${basename(fileURLToPath(scriptUrl))}`;
  const rec: BenchRecord = {
    script,
    args: Deno.args.filter((a) => a !== "--record"),
    date: new Date().toISOString(),
    machine: {
      os: Deno.build.os,
      cpus: navigator.hardwareConcurrency,
      loadavg: Deno.loadavg().map((x) => Number(x.toFixed(2))),
      deno: Deno.version.deno,
    },
    figures,
  };
  const path = recordPath(script);
  await writeTextAtomic(path, JSON.stringify(rec, null, 2) + "\n");
  console.error(`recorded ${script}'s figures in bench/results/${basename(path)}`);
}
