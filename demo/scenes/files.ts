/**
 * Atomic JSON writes (through `@vlp/io`: temporary file in the same folder, then rename), and line counts.
 *
 * @module
 */
import { writeTextAtomic } from "@vlp/io";

export { writeTextAtomic };

/** Write a JSON file atomically (compact, one trailing newline). */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextAtomic(path, JSON.stringify(value) + "\n");
}

/** The number of lines of a text file (a vocabulary or an answer list: one entry a line). */
export async function countLines(path: string): Promise<number> {
  return (await Deno.readTextFile(path)).trimEnd().split("\n").length;
}
