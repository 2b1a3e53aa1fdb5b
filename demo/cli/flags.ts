/**
 * Flag parsing for the demo CLIs: `node:util` `parseArgs` (strict) validated by zod; `--help` prints the
 * usage; bad flags exit with status 2 and a message.
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { z } from "zod";

/** Parse and validate `args`; exits 2 (bad flags) or 0 (`--help`) itself. */
export function parseFlags<T>(
  name: string,
  usage: string,
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  schema: z.ZodType<T>,
): T {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true })
      .values;
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}\n${usage}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(usage);
    Deno.exit(0);
  }
  const r = schema.safeParse(values);
  if (!r.success) {
    console.error(`${name}: ${r.error.issues.map((i) => i.message).join("; ")}\n${usage}`);
    Deno.exit(2);
  }
  return r.data;
}

/** A path from the command line, relative to the folder the user ran the task from (npm's INIT_CWD). */
export function userPath(p: string): string {
  return isAbsolute(p) ? p : resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), p);
}

/** A path for display: relative to the folder the user ran the task from when it lies inside it. */
export function shownPath(p: string): string {
  const rel = relative(Deno.env.get("INIT_CWD") ?? Deno.cwd(), p);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : p;
}
