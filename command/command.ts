/**
 * A command's contract, kept in one place:
 *
 * - `--help` / `-h` prints the usage text (it starts with `Usage:`) to stdout, exit status 0;
 * - an unknown or malformed flag, or a flag value the schema refuses, prints ONE line naming the flag to
 *   stderr (`decode: unknown flag --beam (see --help)`), exit status 2;
 * - any other failure prints ONE line to stderr (`decode: <message>`; by the project's convention the message
 *   names the file), exit status 1; never a stack trace.
 *
 * ```ts
 * const CMD: Command<Flags> = { name: "eval-vqa", usage: USAGE, flags: Flags };
 * if (import.meta.main) await main(startCommand(CMD));
 * ```
 *
 * @module
 */
import type { z } from "zod";
import { flagKinds, readFlags, UsageError, wantsHelp } from "./flags.ts";
import { validateFlags } from "./validate.ts";

/** What a command is: its name (as in `deno task NAME`), usage text, and the zod schema of its flags. */
export interface Command<T> {
  /** prefixes every message, e.g. `decode` */
  readonly name: string;
  /** the `--help` text; starts with `Usage:` */
  readonly usage: string;
  /** an object schema (refinements allowed): keys are the flag names, zod types give kinds and defaults */
  readonly flags: z.ZodType<T, z.ZodTypeDef, unknown>;
}

/** What a command line asks for: the usage text, or a run with validated flags. */
export type CommandLine<T> = { help: true } | { help: false; flags: T };

/** Read and validate a command line (throws {@linkcode UsageError}; nothing is printed). */
export function parseCommandLine<T>(cmd: Command<T>, args: readonly string[]): CommandLine<T> {
  if (!cmd.usage.startsWith("Usage:")) {
    throw new TypeError(`The usage text of ${cmd.name} must start with "Usage:"`);
  }
  const kinds = flagKinds(cmd.flags as z.ZodTypeAny);
  if (wantsHelp(args)) return { help: true };
  return { help: false, flags: validateFlags(readFlags(args, kinds), cmd.flags) };
}

/** The one line a failure prints (without the command's name). */
export function failureText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return e instanceof UsageError ? `${msg} (see --help)` : msg;
}

/** Print a failure as one line and exit: status 2 for a {@linkcode UsageError}, 1 for anything else. */
export function exitWithFailure(name: string, e: unknown): never {
  console.error(`${name}: ${failureText(e)}`);
  Deno.exit(e instanceof UsageError ? 2 : 1);
}

let reporting = "";

/** From now on, an uncaught error or rejection of this process ends it as {@linkcode exitWithFailure}. */
function reportFailures(name: string): void {
  if (reporting) return;
  reporting = name;
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    exitWithFailure(reporting, ev.error);
  });
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    exitWithFailure(reporting, ev.reason);
  });
}

/**
 * Start a command: print the usage and exit 0 on `--help`; exit 2 with one line on a bad command line;
 * otherwise return the validated flags, and from now on report any uncaught failure as one line (exit 1,
 * or 2 for a {@linkcode UsageError} thrown later, e.g. by a check across flags).
 */
export function startCommand<T>(cmd: Command<T>, args: readonly string[] = Deno.args): T {
  reportFailures(cmd.name);
  let line: CommandLine<T>;
  try {
    line = parseCommandLine(cmd, args);
  } catch (e) {
    exitWithFailure(cmd.name, e);
  }
  if (line.help) {
    console.log(cmd.usage);
    Deno.exit(0);
  }
  return line.flags;
}
