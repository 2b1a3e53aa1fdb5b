/**
 * Validation of raw flag values with zod: every issue becomes a short text naming its flag, all of them on
 * one line (`--beam_size: must be ≥ 1; --split: must be one of train, restval, val, test, got "dev"`), and
 * number helpers whose messages read that way.
 *
 * @module
 */
import { z } from "zod";
import { UsageError } from "./flags.ts";

/** One issue as text: `--flag: what is wrong` (a message that names its flags itself is kept as it is). */
function issueText(issue: z.ZodIssue, raw: Record<string, unknown>): string {
  const name = issue.path.length ? String(issue.path[0]) : "";
  let msg = issue.message;
  // zod's default texts are replaced; a schema's own messages are kept
  if (issue.code === z.ZodIssueCode.invalid_type && msg === "Required") msg = "is required";
  else if (
    issue.code === z.ZodIssueCode.invalid_type && issue.received === "nan" && msg.startsWith("Expected")
  ) {
    msg = `must be a number, got "${raw[name]}"`;
  } else if (issue.code === z.ZodIssueCode.invalid_enum_value && msg.startsWith("Invalid enum value")) {
    msg = `must be one of ${issue.options.join(", ")}, got "${issue.received}"`;
  }
  return msg.startsWith("--") || !name ? msg : `--${name}: ${msg}`;
}

/** Validate raw values with a schema; the issues become ONE {@linkcode UsageError} naming the flags. */
export function validateFlags<T>(
  raw: Record<string, unknown>,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const first = r.error.issues[0]?.path[0];
  throw new UsageError(
    r.error.issues.map((i) => issueText(i, raw)).join("; "),
    first === undefined ? undefined : `--${String(first)}`,
  );
}

/** A number flag (given as text): finite. */
export function number(): z.ZodNumber {
  return z.coerce.number().finite("must be a finite number");
}

/** An integer flag (given as text), at least `min` when given. */
export function integer(min?: number): z.ZodNumber {
  const n = z.coerce.number().int("must be an integer");
  return min === undefined ? n : n.min(min, `must be ≥ ${min}`);
}
