/**
 * Paths given on the command line. `npx deno task ...` runs a command in the repository root, so a relative
 * path is taken from where the user ran it: npm's `INIT_CWD` (the working directory when not run through
 * npm). Checks on the paths a command writes belong here too.
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";

/** The folder the user ran the command from. */
export function userDir(): string {
  return Deno.env.get("INIT_CWD") ?? Deno.cwd();
}

/** A path from the command line, relative to the folder the user ran the command from. */
export function userPath(p: string): string {
  return isAbsolute(p) ? p : resolve(userDir(), p);
}

/** A path for display: relative to the folder the user ran the command from when it lies inside it. */
export function shownPath(p: string): string {
  const rel = relative(userDir(), p);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : p;
}

/** The text of an input file; a failure names the file and what it was meant to be. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`cannot read ${what} "${path}": ${(e as Error).message}`);
  }
}
