/**
 * `.npz` archives: zip files of `.npy` members (stored or deflated), as `np.savez` /
 * `np.savez_compressed` write them.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic.ts";
import type { NdArray } from "./ndarray.ts";
import { readNpy, writeNpy } from "./npy.ts";
import { parseZip, readZipEntry, ZipWriter } from "./zip.ts";

/** Read every array of an `.npz` file; keys are the member names without `.npy`, in archive order. */
export async function readNpz(path: string): Promise<Map<string, NdArray>> {
  const bytes = await Deno.readFile(path);
  return await readNpzBytes(bytes, path);
}

/** Read an `.npz` archive held in memory (see {@linkcode readNpz}). */
export async function readNpzBytes(bytes: Uint8Array, name = "<bytes>"): Promise<Map<string, NdArray>> {
  const out = new Map<string, NdArray>();
  for (const entry of parseZip(bytes, name)) {
    if (entry.name.endsWith("/")) continue;
    const key = entry.name.endsWith(".npy") ? entry.name.slice(0, -4) : entry.name;
    if (out.has(key)) throw new SyntaxError(`Cannot read npz "${name}": member "${key}" appears twice`);
    const member = await readZipEntry(bytes, entry, name);
    // Stored members are views into the archive; copy so each array owns an aligned buffer.
    out.set(key, readNpy(entry.method === 0 ? member.slice() : member, `${name}:${entry.name}`));
  }
  return out;
}

/** Write arrays as an `.npz` archive (atomically); `compress` deflates each member like `savez_compressed`. */
export async function writeNpz(
  path: string,
  arrays: Map<string, NdArray>,
  opts: { compress?: boolean } = {},
): Promise<void> {
  await writeFileAtomic(path, async (file) => {
    const zip = new ZipWriter(file);
    for (const [key, arr] of arrays) {
      await zip.add(`${key}.npy`, writeNpy(arr), { compress: opts.compress ?? false });
    }
    await zip.finish();
  });
}
