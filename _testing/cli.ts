/**
 * Running a CLI of the repository as a subprocess (`deno run -A <script> ...args`), as the CLI tests do:
 * from the repository root unless told otherwise, with `NO_COLOR=1`, stdout and stderr captured, and the
 * last stdout line (the figures line every CLI ends with) parsed as JSON.
 *
 * @module
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Parsed JSON of a CLI's figures line (its shape is the CLI's contract, checked by the tests). */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** Options of {@linkcode cliCommand} and {@linkcode runCli}. */
export interface CliOptions {
  /** working directory (default: the repository root) */
  cwd?: string;
  /** variables added to the inherited environment (NO_COLOR=1 is always set) */
  env?: Record<string, string>;
  /** text written to the CLI's stdin (default: no stdin) */
  stdin?: string;
}

/** What a CLI run gave. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** the last stdout line parsed as JSON; null when there is none or it is not JSON */
  json: Json | null;
}

/** The command `deno run -A <script> ...args`; `script` is relative to the repository root (or absolute). */
export function cliCommand(script: string, args: readonly string[], opts: CliOptions = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", resolve(ROOT, script), ...args],
    cwd: opts.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Run a CLI to its end (see the module doc). */
export async function runCli(
  script: string,
  args: readonly string[],
  opts: CliOptions = {},
): Promise<CliResult> {
  const child = cliCommand(script, args, opts).spawn();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
  return { code: out.code, stdout, stderr, json: lastJsonLine(stdout) };
}

function lastJsonLine(stdout: string): Json | null {
  const last = stdout.trim().split("\n").at(-1) ?? "";
  try {
    return last ? JSON.parse(last) : null;
  } catch {
    return null;
  }
}

/**
 * A command that refused to run: its exit status, a message matching `message`, no stack trace, and none of
 * the signs of work in `started` (e.g. a progress line) on stderr.
 */
export function assertRefused(
  r: CliResult,
  code: number,
  message: RegExp,
  opts: { started?: RegExp; what?: string } = {},
): void {
  const what = opts.what ?? message.source;
  assert.equal(r.code, code, `${what}: exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, message, what);
  assert.ok(!/\n\s+at /.test(r.stderr), `${what}: a stack trace:\n${r.stderr}`);
  if (opts.started) assert.ok(!opts.started.test(r.stderr), `${what}: the work started:\n${r.stderr}`);
}

/** The pid of a process that has ended (to name a temporary file a killed process left). */
export async function endedPid(): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", ""], stdout: "null", stderr: "null" })
    .spawn();
  await child.status;
  return child.pid;
}
