/**
 * Validation of data files with zod: errors name the file and the JSON path of each problem, e.g.
 * `Invalid "dataset_coco.json": images[3].split: expected one of train, restval, val, test`.
 *
 * @module
 */
import type { z } from "zod";

/** `["images", 3, "split"]` → `images[3].split`. */
export function jsonPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out || "(root)";
}

/** Parse `value` with `schema`, or throw a `TypeError` naming `file` and up to 5 JSON paths. */
export function parseWith<T extends z.ZodTypeAny>(schema: T, value: unknown, file: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const lines = issues.slice(0, 5).map((i) => `${jsonPath(i.path)}: ${i.message}`);
  if (issues.length > 5) lines.push(`... and ${issues.length - 5} more`);
  throw new TypeError(`Invalid "${file}": ${lines.join("; ")}`);
}

/** Read and parse a JSON file; a syntax error names the file. */
export async function readJson(path: string): Promise<unknown> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot parse JSON "${path}": ${(e as Error).message}`);
  }
}
