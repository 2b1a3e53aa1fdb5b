/**
 * Atomic file writes: everything goes to a temporary file in the target's folder, which is renamed over
 * the target only when complete, so a crash never leaves a half-written file under the real name.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

/** Write a file atomically through a callback that receives the open temporary file. */
export async function writeFileAtomic(
  path: string,
  write: (file: Deno.FsFile) => Promise<void>,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  const file = await Deno.open(tmp, { write: true, createNew: true });
  let ok = false;
  try {
    await write(file);
    await file.sync();
    ok = true;
  } finally {
    file.close();
    if (!ok) await Deno.remove(tmp).catch(() => {});
  }
  try {
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Write all of `bytes` to an open file. */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/** Write bytes to a path atomically. */
export function writeBytesAtomic(path: string, bytes: Uint8Array): Promise<void> {
  return writeFileAtomic(path, (f) => writeAll(f, bytes));
}

/** Write a text file (UTF-8) atomically. */
export function writeTextAtomic(path: string, text: string): Promise<void> {
  return writeBytesAtomic(path, new TextEncoder().encode(text));
}
