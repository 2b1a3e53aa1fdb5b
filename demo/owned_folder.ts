/**
 * A folder a command owns, so that a rerun replaces the command's own outputs and nothing else: the
 * command claims the folder only when it is new or empty (or already its own), and keeps a ledger
 * (`vlp_outputs.json`) of every file it (or the commands it runs) wrote there, with size and modification
 * time. Before a rerun writes again, {@linkcode OwnedFolder.clear} removes exactly the recorded files that are
 * still as recorded, the temporary files of killed atomic writes, and the files of a step that was
 * interrupted (written into its folder after the step began); anything else in the cleared parts — a file the
 * user added or changed — stops the run before anything is removed.
 *
 * ```ts ignore
 * const owned = await OwnedFolder.claim("runs/demo", "demo"); // refuses a non-empty folder of someone else's
 * await owned.clear(["pretrain", "summary.json"]);
 * await owned.begin("pretrain"); // ... the step writes into runs/demo/pretrain ...
 * await owned.record("pretrain");
 * ```
 *
 * @module
 */
import { join, relative } from "node:path";
import { isTemporaryName, writeTextAtomic } from "@vlp/io";

/** The ledger's file name inside an owned folder. */
export const LEDGER = "vlp_outputs.json";

/** One recorded file. */
interface Entry {
  size: number;
  /** modification time, ms since the epoch */
  mtime: number;
}

/** The ledger's contents. */
interface Ledger {
  format: "vlp-outputs";
  version: 1;
  command: string;
  /** relative path → what was recorded */
  files: Record<string, Entry>;
  /** parts whose step began and did not finish: relative path → start time (ms) */
  pending: Record<string, number>;
}

/** Every file under `part` (a file or a folder, relative to `root`), but the ledger; a missing part has none. */
async function filesUnder(root: string, part: string): Promise<{ rel: string; info: Deno.FileInfo }[]> {
  const out: { rel: string; info: Deno.FileInfo }[] = [];
  const walk = async (rel: string) => {
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(join(root, rel));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    if (info.isDirectory) {
      for await (const e of Deno.readDir(join(root, rel))) await walk(join(rel, e.name));
    } else if (rel !== LEDGER) out.push({ rel, info });
  };
  await walk(part);
  return out;
}

/** A folder a command owns (see the module doc). */
export class OwnedFolder {
  #saving: Promise<void> = Promise.resolve();

  private constructor(readonly dir: string, readonly command: string, readonly ledger: Ledger) {}

  /**
   * Claim `dir` for `command`: create it when it does not exist, take it when it is empty or holds this
   * command's ledger; refuse (an `Error` naming the folder) a non-empty folder without one.
   */
  static async claim(dir: string, command: string): Promise<OwnedFolder> {
    let entries: string[];
    try {
      entries = [];
      for await (const e of Deno.readDir(dir)) entries.push(e.name);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) entries = [];
      else if (e instanceof Deno.errors.NotADirectory) throw new Error(`"${dir}" is a file, not a folder`);
      else throw e;
    }
    const path = join(dir, LEDGER);
    let ledger: Ledger;
    if (entries.includes(LEDGER)) {
      try {
        ledger = JSON.parse(await Deno.readTextFile(path)) as Ledger;
      } catch (e) {
        throw new SyntaxError(`Cannot read the ledger "${path}": ${(e as Error).message}`);
      }
      if (ledger.format !== "vlp-outputs" || ledger.command !== command) {
        throw new Error(
          `"${dir}" holds the outputs of ${
            ledger.command ?? "another command"
          } (${path}), not of ${command}: ` +
            "choose another folder",
        );
      }
    } else if (entries.length > 0) {
      const shown = entries.slice(0, 3).join(", ") + (entries.length > 3 ? ", ..." : "");
      throw new Error(
        `"${dir}" is not empty (${shown}) and ${command} did not make it (no ${LEDGER}): ${command} only ` +
          "writes into a new or empty folder, or one it made, so that it never replaces or removes files it " +
          "did not write; choose another folder",
      );
    } else {
      ledger = { format: "vlp-outputs", version: 1, command, files: {}, pending: {} };
    }
    await Deno.mkdir(dir, { recursive: true });
    const owned = new OwnedFolder(dir, command, ledger);
    await owned.#save();
    return owned;
  }

  /** Save the ledger (atomically; saves are queued). */
  #save(): Promise<void> {
    const text = JSON.stringify(this.ledger, null, 1) + "\n";
    this.#saving = this.#saving.then(() => writeTextAtomic(join(this.dir, LEDGER), text));
    return this.#saving;
  }

  /**
   * Remove this command's files from `parts` (relative files or folders; "." is the whole folder): recorded
   * files still as recorded, temporary files of killed writes, and files of an interrupted step in its part.
   * Any other file there stops it first, naming the files, with nothing removed. Emptied folders go too.
   */
  async clear(parts: readonly string[]): Promise<void> {
    const remove: string[] = [], foreign: string[] = [];
    for (const part of parts) {
      for (const { rel, info } of await filesUnder(this.dir, part)) {
        const rec = this.ledger.files[rel];
        const mtime = info.mtime?.getTime() ?? 0;
        const started = Object.entries(this.ledger.pending).find(([p]) => p === "." || isUnder(rel, p))?.[1];
        const ours = (rec && rec.size === info.size && rec.mtime === mtime) ||
          isTemporaryName(rel.split("/").pop()!) ||
          (started !== undefined && mtime >= started);
        (ours ? remove : foreign).push(rel);
      }
    }
    if (foreign.length) {
      const shown = foreign.slice(0, 5).map((f) => `"${f}"`).join(", ") + (foreign.length > 5 ? ", ..." : "");
      throw new Error(
        `${this.command}: "${this.dir}" holds ${foreign.length} file(s) it did not write or that changed since ` +
          `(${shown}): nothing removed; move them away or choose another folder`,
      );
    }
    for (const rel of remove) await Deno.remove(join(this.dir, rel));
    for (const rel of Object.keys(this.ledger.files)) {
      if (parts.some((p) => p === "." || isUnder(rel, p))) delete this.ledger.files[rel];
    }
    for (const part of parts) {
      delete this.ledger.pending[part];
      await removeEmptyFolders(this.dir, part);
    }
    await this.#save();
  }

  /** A step begins writing into `part` (a relative file or folder): its files count as ours if it is cut short. */
  async begin(part: string): Promise<void> {
    this.ledger.pending[part] = Date.now() - 1000; // file systems keep coarse modification times
    await this.#save();
  }

  /** Record every file now under `part` as this command's, and end its step. */
  async record(part: string): Promise<void> {
    for (const { rel, info } of await filesUnder(this.dir, part)) {
      this.ledger.files[rel] = { size: info.size, mtime: info.mtime?.getTime() ?? 0 };
    }
    delete this.ledger.pending[part];
    await this.#save();
  }
}

function isUnder(rel: string, part: string): boolean {
  const r = relative(part, rel);
  return r === "" || (!r.startsWith("..") && !r.startsWith("/"));
}

/** Remove the folders under `part` that are empty (bottom-up), `part` itself included; never the root. */
async function removeEmptyFolders(root: string, part: string): Promise<void> {
  const walk = async (rel: string): Promise<boolean> => {
    const path = join(root, rel);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch {
      return true;
    }
    if (!info.isDirectory) return false;
    let empty = true;
    for (const e of await Array.fromAsync(Deno.readDir(path))) {
      if (!(await walk(join(rel, e.name)))) empty = false;
    }
    if (empty && rel !== "." && rel !== "") await Deno.remove(path);
    return empty;
  };
  await walk(part);
}
