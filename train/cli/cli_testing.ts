/**
 * Shared plumbing of the CLI tests (not exported by the member): running a CLI as a subprocess, and the
 * flags of a tiny model on the shared fixture data.
 *
 * @module
 */
import { join } from "node:path";
import { fixturePath } from "@vlp/testing";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The vlp-formats COCO files. */
export const COCO = fixturePath("fixtures/vlp-formats/COCO");

/** The model flags of a tiny BERT (C 32, 2 layers) with the uncased vocabulary. */
export const TINY_MODEL_FLAGS: string[] = [
  "--vocab",
  fixturePath("data/bert-base-uncased-vocab.txt"),
  "--do_lower_case",
  "--config_path",
  new URL("../testdata/tiny_bert_config.json", import.meta.url).pathname,
  "--enable_butd",
];

/** The data flags of a captioning run on the vlp-formats COCO files. */
export const COCO_FLAGS: string[] = [
  "--src_file",
  `${COCO}/dataset_coco.json`,
  "--file_valid_jpgs",
  `${COCO}/coco_valid_jpgs.json`,
  "--image_root",
  `${COCO}/region_feat_gvd_wo_bgd`,
  "--new_segment_ids",
  "--always_truncate_tail",
];

/** `deno run -A <script> args` from the repository root. */
export function cliCommand(script: string, args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, script), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** Parsed JSON of a CLI's figures line (its shape is the CLI's contract, checked by the tests). */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** Run a CLI: exit code, stderr, and the last stdout line parsed as JSON (on success, else null). */
export async function runCli(
  script: string,
  args: string[],
): Promise<{ code: number; stderr: string; json: Json }> {
  const out = await cliCommand(script, args).output();
  const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
  return {
    code: out.code,
    stderr,
    json: out.code === 0 ? JSON.parse(stdout.trim().split("\n").at(-1)!) : null,
  };
}

/** The records of a run's train_log.jsonl. */
export async function readTrainLog(dir: string): Promise<Json[]> {
  return (await Deno.readTextFile(join(dir, "train_log.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
}
