/**
 * Flag handling of the train CLIs: the original's argparse conventions on top of `node:util` parseArgs
 * (`--flag value`, `--flag=value`, store-true booleans, and `nargs='+'` lists such as
 * `--split train restval`), validated with zod; every problem is reported with the flag's name.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";

/** How a flag is parsed. */
export type FlagKind = "string" | "boolean" | "list";

/** The flags of a CLI: name (without `--`) → kind. */
export type FlagSpec = Record<string, FlagKind>;

/** A usage error (exit status 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parse `args` into raw values (strings, booleans, string lists). A list flag takes every following
 * argument up to the next `--flag`, and may also be repeated or comma-separated.
 */
export function parseFlags(args: readonly string[], spec: FlagSpec): Record<string, unknown> {
  const expanded: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith("--") ? a.slice(2).split("=")[0] : "";
    if (spec[name] === "list" && !a.includes("=")) {
      let j = i + 1;
      for (; j < args.length && !args[j].startsWith("--"); j++) expanded.push(a, args[j]);
      if (j === i + 1) expanded.push(a); // parseArgs reports the missing value
      i = j - 1;
    } else {
      expanded.push(a);
    }
  }
  const options = Object.fromEntries(
    Object.entries(spec).map(([k, kind]) => [
      k,
      kind === "boolean"
        ? { type: "boolean" as const }
        : { type: "string" as const, multiple: kind === "list" },
    ]),
  );
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: expanded,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  for (const [k, v] of Object.entries(values)) {
    if (spec[k] === "list") values[k] = (v as string[]).flatMap((s) => s.split(",")).filter((s) => s !== "");
  }
  return values;
}

/** Validate raw values with a zod schema; issues become one message naming the flags. */
export function validateFlags<T>(
  values: Record<string, unknown>,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
): T {
  const r = schema.safeParse(values);
  if (!r.success) {
    throw new UsageError(
      r.error.issues.map((i) => (i.path.length ? `--${i.path.join(".")}: ${i.message}` : i.message)).join(
        "\n",
      ),
    );
  }
  return r.data;
}

/** Parse and validate a CLI's flags; null, after printing `usage` to stderr, when `--help` is given. */
export function cliFlags<T>(
  args: readonly string[],
  spec: FlagSpec,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
  usage: string,
): T | null {
  const raw = parseFlags(args, spec);
  if (raw.help) {
    console.error(usage);
    return null;
  }
  return validateFlags(raw, schema);
}

/** A number flag (given as text): `--name` must be a finite number. */
export function num(name: string): z.ZodNumber {
  return z.coerce.number({ invalid_type_error: `must be a number` }).finite(
    `--${name} must be a finite number`,
  );
}

/** A path relative to the directory the user ran the task from (npm/npx set INIT_CWD). */
export function userPath(p: string): string {
  return isAbsolute(p) ? p : resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), p);
}

/** Run a CLI's main: usage errors exit 2 (with the usage text), other errors exit 1, both on stderr. */
export async function runCli(name: string, usage: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${name}: ${e.message}\n\n${usage}`);
      Deno.exit(2);
    }
    console.error(`${name}: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
