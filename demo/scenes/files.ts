/**
 * Atomic text and JSON writes (temporary file in the same folder, then rename), and line counts.
 *
 * @module
 */
import { writeBytesAtomic } from "@vlp/io";

/** Write a text file atomically. */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeBytesAtomic(path, new TextEncoder().encode(text));
}

/** Write a JSON file atomically (compact, one trailing newline). */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextAtomic(path, JSON.stringify(value) + "\n");
}

/** The number of lines of a text file (a vocabulary or an answer list: one entry a line). */
export async function countLines(path: string): Promise<number> {
  return (await Deno.readTextFile(path)).trimEnd().split("\n").length;
}
