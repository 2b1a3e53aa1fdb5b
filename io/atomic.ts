/**
 * Atomic file writes: everything goes to a temporary file in the target's folder, which is renamed over
 * the target only when complete, so a crash never leaves a half-written file under the real name.
 *
 * A temporary file is named `.<name>.tmp-<pid>-<8 hex digits>` ({@linkcode isTemporaryName}): hidden, and
 * never matching a data file's name or pattern (`model.*.bin` does not match `.model.3.bin.tmp-…`). One
 * left behind by a killed process is removed by the next run that writes into the folder
 * ({@linkcode removeStaleTemporaries}).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";

const TEMPORARY = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

/** The temporary file of an atomic write of `path` by this process (in the same folder). */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
}

/** Whether a file name is that of an atomic write's temporary file (`.<name>.tmp-<pid>-<hex>`). */
export function isTemporaryName(name: string): boolean {
  return TEMPORARY.test(name);
}

/** Whether a process runs: `/proc/<pid>` where there is a `/proc`; elsewhere unknown (null). */
function processRuns(pid: number): boolean | null {
  const exists = (p: string) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  if (!exists("/proc/self")) return null;
  return exists(`/proc/${pid}`);
}

/** Where the writing process cannot be seen (no `/proc`): a temporary file untouched this long is stale. */
const STALE_AGE_MS = 24 * 3600 * 1000;

/**
 * Remove the temporary files of atomic writes that were left in `dir` by processes that no longer run (a
 * kill or a crash between the write and the rename), and return their paths. A temporary file of a process
 * that still runs (another command writing into the same folder) is kept; without `/proc` a temporary file
 * counts as stale once untouched for a day. Nothing else is touched; a missing folder is not an error.
 * `recursive` also cleans the sub-folders.
 */
export async function removeStaleTemporaries(
  dir: string,
  opts: { recursive?: boolean } = {},
): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return removed;
    throw e;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory && opts.recursive) removed.push(...await removeStaleTemporaries(path, opts));
    const m = e.isFile ? TEMPORARY.exec(e.name) : null;
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === Deno.pid) continue;
    let stale = processRuns(pid);
    if (stale === null) {
      const mtime = (await Deno.stat(path)).mtime?.getTime() ?? Date.now();
      stale = Date.now() - mtime > STALE_AGE_MS;
    } else stale = !stale;
    if (!stale) continue;
    try {
      await Deno.remove(path);
      removed.push(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err; // removed meanwhile by another cleaner
    }
  }
  return removed;
}

/** Write a file atomically through a callback that receives the open temporary file. */
export async function writeFileAtomic(
  path: string,
  write: (file: Deno.FsFile) => Promise<void>,
): Promise<void> {
  const tmp = temporaryPath(path);
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
