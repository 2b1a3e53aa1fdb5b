/**
 * Flags as the original's argparse reads them, on top of `node:util` `parseArgs`: `--flag value` and
 * `--flag=value`, store-true booleans (`--flag`, no value), `nargs='+'` lists (`--split train restval`, also
 * repeated or comma-separated), negative numbers as values (`--length_penalty -0.5`), and `--help`/`-h`
 * anywhere. Which kind a flag is comes from its zod type: `z.boolean()` is store-true, `z.array()` a list,
 * anything else takes one value (as text; the schema coerces it).
 *
 * Every problem is a {@linkcode UsageError} naming the flag.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";

/** How a flag is read from the command line. */
export type FlagKind = "value" | "boolean" | "list";

/** The flags of a command: name (without `--`) → kind. */
export type FlagKinds = Readonly<Record<string, FlagKind>>;

/** A problem with the command line (exit status 2); `flag` is the flag it is about, when there is one. */
export class UsageError extends Error {
  constructor(message: string, readonly flag?: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The schema under optional/default/refine/pipe wrappers. */
function unwrap(t: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap();
    else if (t instanceof z.ZodDefault) t = t.removeDefault();
    else if (t instanceof z.ZodEffects) t = t.innerType();
    else if (t instanceof z.ZodPipeline) t = t._def.in;
    else if (t instanceof z.ZodCatch) t = t.removeCatch();
    else if (t instanceof z.ZodBranded) t = t.unwrap();
    else return t;
  }
}

/** The flag kinds of an object schema (possibly refined): see the module doc. */
export function flagKinds(schema: z.ZodTypeAny): FlagKinds {
  const obj = unwrap(schema);
  if (!(obj instanceof z.ZodObject)) throw new TypeError("A command's flags must be a zod object schema");
  return Object.fromEntries(
    Object.entries(obj.shape as Record<string, z.ZodTypeAny>).map(([name, t]) => {
      const inner = unwrap(t);
      return [
        name,
        inner instanceof z.ZodBoolean ? "boolean" : inner instanceof z.ZodArray ? "list" : "value",
      ];
    }),
  );
}

const NUMBER = /^-(\d|\.\d)/;

/** Whether an argument is a value rather than a flag (argparse: a negative number is a value). */
function isValue(arg: string): boolean {
  return !arg.startsWith("-") || arg === "-" || NUMBER.test(arg);
}

/** Whether `--help` or `-h` is among the arguments. */
export function wantsHelp(args: readonly string[]): boolean {
  return args.some((a) => a === "--help" || a === "-h");
}

/** ` (did you mean --x?)` when the unknown name is a known one with `-` and `_` swapped. */
function suggestion(name: string, kinds: FlagKinds): string {
  for (const alt of [name.replaceAll("-", "_"), name.replaceAll("_", "-")]) {
    if (alt !== name && alt in kinds) return ` (did you mean --${alt}?)`;
  }
  return "";
}

/**
 * Read `args` into raw values: strings for value flags, `true` for booleans given, string lists for list
 * flags (comma-separated entries split). `--help`/`-h` is not handled here (see {@linkcode wantsHelp}).
 */
export function readFlags(args: readonly string[], kinds: FlagKinds): Record<string, unknown> {
  const tokens: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (isValue(arg) || arg === "--") throw new UsageError(`unexpected argument "${arg}"`);
    if (!arg.startsWith("--")) throw new UsageError(`unknown flag ${arg}`, arg);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq), flag = `--${name}`;
    const kind = Object.hasOwn(kinds, name) ? kinds[name] : undefined;
    if (!kind) throw new UsageError(`unknown flag ${flag}${suggestion(name, kinds)}`, flag);
    if (kind === "boolean") {
      if (eq >= 0) throw new UsageError(`${flag} takes no value`, flag);
      tokens.push(flag);
    } else if (eq >= 0) {
      tokens.push(arg);
    } else {
      const start = i;
      while (i + 1 < args.length && isValue(args[i + 1]) && (kind === "list" || i === start)) {
        tokens.push(`${flag}=${args[++i]}`);
      }
      if (i === start) throw new UsageError(`${flag} needs a value`, flag);
    }
  }
  const options = Object.fromEntries(
    Object.entries(kinds).map(([k, kind]) => [
      k,
      kind === "boolean"
        ? { type: "boolean" as const }
        : { type: "string" as const, multiple: kind === "list" },
    ]),
  );
  // every token is a known flag in its `--name[=value]` form, so strict parsing cannot fail here
  const { values } = parseArgs({ args: tokens, options, strict: true, allowPositionals: false });
  const out: Record<string, unknown> = { ...values };
  for (const [k, v] of Object.entries(out)) {
    if (kinds[k] === "list") out[k] = (v as string[]).flatMap((s) => s.split(",")).filter((s) => s !== "");
  }
  return out;
}
