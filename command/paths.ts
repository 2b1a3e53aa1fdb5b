/**
 * Paths given on the command line. `npx deno task ...` runs a command in the repository root, so a relative
 * path is taken from where the user ran it: npm's `INIT_CWD` (the working directory when not run through
 * npm).
 *
 * The checks on the paths a command writes live here too, so that every command runs the same ones before
 * any work: {@linkcode refuseOverwritingInputs} (an output is never one of the command's inputs: same
 * resolved path, or the same file through a link) and {@linkcode checkOutputFile} /
 * {@linkcode checkOutputDir} (the folder exists or can be made, is writable, and has room).
 *
 * @module
 */
import { constants, promises as fsp, statfsSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { UsageError } from "./flags.ts";

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

/** A file (or folder) a command reads or writes, with what it is called in messages (usually its flag). */
export interface NamedPath {
  /** e.g. `--output_file`, or `region file of "COCO_val2014_000000391895"` */
  readonly name: string;
  readonly path: string;
}

/** What identifies a file: its resolved path (links in the folders resolved) and, when it exists, dev+ino. */
interface Identity {
  real: string;
  node?: string;
  isDirectory: boolean;
}

async function identity(path: string): Promise<Identity> {
  const abs = resolve(path);
  try {
    const st = await Deno.stat(abs); // follows links: a symbolic link has its target's dev+ino
    const node = st.ino !== null ? `${st.dev}:${st.ino}` : undefined;
    return { real: await Deno.realPath(abs), node, isDirectory: st.isDirectory };
  } catch {
    // not there (yet): the resolved folder plus the name
    let dir = dirname(abs);
    const rest = [basename(abs)];
    for (;;) {
      try {
        return { real: join(await Deno.realPath(dir), ...rest), isDirectory: false };
      } catch {
        if (dirname(dir) === dir) return { real: abs, isDirectory: false };
        rest.unshift(basename(dir));
        dir = dirname(dir);
      }
    }
  }
}

function same(a: Identity, b: Identity): boolean {
  return a.real === b.real || (a.node !== undefined && a.node === b.node);
}

/**
 * Refuse, before any work, a command line whose outputs would replace one of its inputs: an output with the
 * same resolved path as an input (symbolic links in the path resolved), or the same file through a hard or
 * symbolic link (dev+ino from `Deno.stat`), or two outputs that are one file. An output that is an input
 * folder itself is refused too. Throws a {@linkcode UsageError} naming both (exit status 2), e.g.
 * `--output_file "m.bin" is the file of --model_recover_path "m.bin": it would be overwritten; choose
 * another --output_file`.
 */
export async function refuseOverwritingInputs(
  outputs: readonly NamedPath[],
  inputs: readonly NamedPath[],
): Promise<void> {
  const ins = await Promise.all(inputs.map(async (i) => ({ ...i, id: await identity(i.path) })));
  const outs: (NamedPath & { id: Identity })[] = [];
  for (const o of outputs) {
    const id = await identity(o.path);
    const input = ins.find((i) => same(id, i.id));
    const hit = input ?? outs.find((p) => same(id, p.id));
    if (hit) {
      const what = hit.id.isDirectory ? "the folder" : "the file";
      const link = resolve(o.path) === resolve(hit.path) ? "" : " (the same file by another path)";
      throw new UsageError(
        `${o.name} "${o.path}" is ${what} of ${hit.name} "${hit.path}"${link}: writing it would replace ` +
          `${input ? "an input" : "another output"}; choose another ${o.name}`,
        o.name.startsWith("--") ? o.name : undefined,
      );
    }
    outs.push({ ...o, id });
  }
}

/** Options of {@linkcode checkOutputFile} and {@linkcode checkOutputDir}. */
export interface OutputCheckOptions {
  /** bytes the command will write there (checked against the free space; default 0) */
  bytes?: number;
  /** the folder may be created (default: it must exist) */
  create?: boolean;
}

/** The nearest folder of `path` that exists (the path itself when it is one). */
async function existingFolder(path: string, name: string): Promise<string> {
  for (let p = resolve(path);; p = dirname(p)) {
    try {
      const st = await Deno.stat(p);
      if (!st.isDirectory) {
        throw new Error(`cannot write ${name} "${path}": "${p}" is a file, not a folder`);
      }
      return p;
    } catch (e) {
      const absent = e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory;
      if (!absent || dirname(p) === p) throw e;
    }
  }
}

/** Writable and with room: `folder` exists (see the callers). */
async function checkFolder(folder: string, path: string, name: string, bytes: number): Promise<void> {
  try {
    await fsp.access(folder, constants.W_OK);
  } catch {
    throw new Error(`cannot write ${name} "${path}": the folder "${folder}" is not writable`);
  }
  if (bytes > 0) {
    let free = Infinity;
    try {
      const s = statfsSync(folder);
      free = Number(s.bavail) * Number(s.bsize);
    } catch {
      // no statfs on this platform: the write itself will tell
    }
    if (free < bytes) {
      const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
      throw new Error(
        `cannot write ${name} "${path}": it needs about ${mb(bytes)} and "${folder}" has ${mb(free)} free`,
      );
    }
  }
}

/**
 * Check, before any work, that a file can be written: it is not a folder, its folder exists (or, with
 * `create`, can be made), is writable, and has room for `bytes`. Throws an `Error` naming the flag and the
 * path (exit status 1).
 */
export async function checkOutputFile(path: string, name: string, o: OutputCheckOptions = {}): Promise<void> {
  const abs = resolve(path);
  try {
    if ((await Deno.stat(abs)).isDirectory) {
      throw new Error(`cannot write ${name} "${path}": it is a folder`);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) throw e;
  }
  const folder = await existingFolder(dirname(abs), name);
  if (folder !== dirname(abs) && !o.create) {
    throw new Error(`cannot write ${name} "${path}": the folder "${dirname(abs)}" does not exist`);
  }
  await checkFolder(folder, path, name, o.bytes ?? 0);
}

/**
 * Check, before any work, that files can be written into a folder: it is a folder (or, with `create`, can be
 * made: its nearest existing ancestor is a writable folder), writable, with room for `bytes`.
 */
export async function checkOutputDir(dir: string, name: string, o: OutputCheckOptions = {}): Promise<void> {
  const abs = resolve(dir);
  const folder = await existingFolder(abs, name);
  if (folder !== abs && !o.create) throw new Error(`cannot write into ${name} "${dir}": it does not exist`);
  await checkFolder(folder, dir, name, o.bytes ?? 0);
}
