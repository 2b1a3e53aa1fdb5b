/**
 * `deno task bench`: every bench script, one after another (each alone on the machine), each with
 * `--record` so that its figures land in `bench/results/<script>.json`; then `deno task bench:table` puts
 * them into the README. Each script's progress goes to stderr as it runs; the last stdout line is ONE JSON
 * object `{"bench": "all", "scripts": {name: {"code", "seconds"}}, "failed"}`. Exit status 1 when a script
 * failed.
 *
 * The GPU bench needs a GPU (run `bench/gpu_check.sh` on a GPU machine for its record with the original's
 * anchor); it runs here only with `--gpu`. `deno task bench:suites` runs the `deno bench` suites (small
 * versions of the tokenizer, features and model benches).
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type Command, startCommand } from "@vlp/command";

/** A bench script and what it needs. */
export interface BenchScript {
  /** the file in bench/ */
  script: string;
  /** runs only with --gpu */
  gpu?: boolean;
  /** takes --vlp DIR (the original's checkout, for a side-by-side anchor) */
  vlp?: boolean;
}

/** Every bench script, in the order they run (quick ones first). */
export const SCRIPTS: readonly BenchScript[] = [
  { script: "tokenizer_bench.ts" },
  { script: "eval_bench.ts" },
  { script: "eval_hostile_bench.ts" },
  { script: "features_bench.ts" },
  { script: "model_bench.ts" },
  { script: "model_ops_profile.ts" },
  { script: "decode_bench.ts", vlp: true },
  { script: "onnx_bench.ts" },
  { script: "train_bench.ts" },
  { script: "dist_bench.ts" },
  { script: "detect_bench.ts" },
  { script: "gpu_bench.ts", gpu: true },
];

const names = SCRIPTS.map((s) => s.script.replace(/\.ts$/, ""));

const Flags = z.object({
  only: z.array(z.enum(names as [string, ...string[]])).optional(),
  gpu: z.boolean().default(false),
  vlp: z.string().min(1).optional(),
  dry_run: z.boolean().default(false),
});
type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = {
  name: "bench",
  usage: `Usage: deno task bench [--only NAME...] [--gpu] [--vlp DIR] [--dry_run]
Runs every bench script with --record (figures into bench/results/), one after another.
  --only NAME...  only these: ${names.join(", ")}
  --gpu           also the GPU bench (needs a GPU)
  --vlp DIR       a checkout of the original VLP, for decode_bench's side-by-side anchor
  --dry_run       print the commands, run nothing
  --help          show this text`,
  flags: Flags,
};

/** The command lines the flags ask for. */
export function plan(f: Flags): { name: string; args: string[] }[] {
  return SCRIPTS.map((s, i) => ({ s, name: names[i] }))
    .filter(({ s, name }) => (f.only ? f.only.includes(name) : !s.gpu || f.gpu))
    .map(({ s, name }) => ({
      name,
      args: [
        "run",
        "-A",
        fileURLToPath(new URL(s.script, import.meta.url)),
        "--record",
        ...(s.vlp && f.vlp ? ["--vlp", f.vlp] : []),
      ],
    }));
}

async function main(f: Flags): Promise<number> {
  const scripts: Record<string, { code: number; seconds: number }> = {};
  let failed = 0;
  for (const { name, args } of plan(f)) {
    console.error(`bench: ${name}`);
    if (f.dry_run) {
      console.error(`  deno ${args.join(" ")}`);
      continue;
    }
    const t0 = performance.now();
    const r = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" })
      .output();
    scripts[name] = { code: r.code, seconds: Number(((performance.now() - t0) / 1000).toFixed(1)) };
    if (r.code !== 0) {
      failed++;
      console.error(`bench: ${name} failed (exit status ${r.code})`);
    }
  }
  console.log(JSON.stringify({ bench: "all", scripts, failed }));
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(startCommand(CMD)));
