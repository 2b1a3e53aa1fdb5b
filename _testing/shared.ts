/**
 * Location of the shared reference data: `../shared` next to the repository root. Tests resolve it from
 * this file so they work from any working directory.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute path of the shared folder beside the repository root. */
export const SHARED: string = fileURLToPath(new URL("../../shared", import.meta.url));

/** Path of a file under the shared folder, e.g. `fixturePath("fixtures/vlp-tiny/model.bin")`. */
export function fixturePath(rel: string): string {
  return join(SHARED, rel);
}
