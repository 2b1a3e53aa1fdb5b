/**
 * Shared plumbing of the eval CLIs: flag parsing with `node:util` + zod, paths relative to where the user
 * ran the task, file reading and exiting with a message.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { z } from "zod";

/** A CLI's name, usage text and how it exits on errors. */
export class Cli {
  constructor(readonly name: string, readonly usage: string) {}

  /** Prints `name: msg` to stderr and exits (1: bad input, 2: bad flags). */
  fail(msg: string, code = 1): never {
    console.error(`${this.name}: ${msg}`);
    Deno.exit(code);
  }

  /** Parses the flags (strict, `--help` prints the usage) and validates them with `schema`. */
  flags<T>(args: string[], options: NonNullable<ParseArgsConfig["options"]>, schema: z.ZodType<T>): T {
    let values: Record<string, unknown>;
    try {
      values =
        parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true })
          .values;
    } catch (e) {
      this.fail(`${(e as Error).message}\n${this.usage}`, 2);
    }
    if (values.help) {
      console.error(this.usage);
      Deno.exit(0);
    }
    const r = schema.safeParse(values);
    if (!r.success) this.fail(`${r.error.issues.map((i) => i.message).join("; ")}\n${this.usage}`, 2);
    return r.data;
  }

  /** Reads a text file or exits naming it. */
  read(path: string, what: string): string {
    try {
      return Deno.readTextFileSync(path);
    } catch (e) {
      this.fail(`cannot read ${what} "${path}": ${(e as Error).message}`);
    }
  }

  /** Runs `main`, turning any thrown error into a message and exit status 1. */
  async run(main: () => Promise<void> | void): Promise<void> {
    try {
      await main();
    } catch (e) {
      this.fail((e as Error).message);
    }
  }
}

/** A path from the command line, relative to the directory the user ran the task from. */
export function userPath(p: string): string {
  return isAbsolute(p) ? p : resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), p);
}
