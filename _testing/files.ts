/**
 * Snapshots of files for the reliability tests: every input of a command must be byte-identical after it
 * ran, and no file may appear or vanish where the command was not meant to write.
 *
 * @module
 */
import { deepEqual } from "node:assert/strict";
import { join } from "node:path";

async function digest(path: string): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function walk(path: string, out: Map<string, string>): Promise<void> {
  const st = await Deno.lstat(path);
  if (st.isSymlink) out.set(path, `link -> ${await Deno.readLink(path)}`);
  else if (st.isDirectory) {
    for await (const e of Deno.readDir(path)) await walk(join(path, e.name), out);
  } else out.set(path, await digest(path));
}

/** The files under some paths (files or folders, recursively) and a digest of each one's bytes. */
export class FileSnapshot {
  private constructor(readonly paths: readonly string[], readonly files: ReadonlyMap<string, string>) {}

  /** Take a snapshot of `paths`. */
  static async of(...paths: string[]): Promise<FileSnapshot> {
    const files = new Map<string, string>();
    for (const p of paths) await walk(p, files);
    return new FileSnapshot(paths, files);
  }

  /** Fail unless the same files are there with the same bytes (links: the same targets). */
  async assertUnchanged(message = "the files changed"): Promise<void> {
    const now = await FileSnapshot.of(...this.paths);
    const diff = [
      ...[...this.files.keys()].filter((p) => !now.files.has(p)).map((p) => `removed ${p}`),
      ...[...now.files.keys()].filter((p) => !this.files.has(p)).map((p) => `added ${p}`),
      ...[...now.files].filter(([p, d]) => this.files.has(p) && this.files.get(p) !== d).map(([p]) =>
        `changed ${p}`
      ),
    ];
    deepEqual(diff, [], `${message}: ${diff.slice(0, 10).join(", ")}`);
  }
}
