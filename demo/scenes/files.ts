/**
 * Atomic text and JSON writes (temporary file in the same folder, then rename).
 *
 * @module
 */
import { writeBytesAtomic } from "@vlp/features";

/** Write a text file atomically. */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeBytesAtomic(path, new TextEncoder().encode(text));
}

/** Write a JSON file atomically (compact, one trailing newline). */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeTextAtomic(path, JSON.stringify(value) + "\n");
}
