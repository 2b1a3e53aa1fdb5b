/**
 * Checks that run before any decoding starts: every image's region files and entries exist with the right
 * shapes (looked up in the HDF5 metadata or with a `stat`, without reading the arrays), so a long run never
 * dies half-way on a missing image.
 *
 * @module
 */
import { H5File } from "@vlp/io";
import { type RegionDataset, type RegionDims, type RegionLayout, regionPaths } from "@vlp/features";

/** One image to check: its feature id and (Flickr30k layout) its folder. */
export interface RegionImage {
  imgId: string;
  filepath?: string;
}

/** Options of {@linkcode findRegionProblems}. */
export interface RegionCheckOptions {
  dataset: RegionDataset;
  imageRoot: string;
  layout: RegionLayout;
  dims: RegionDims;
  /** called after each image (progress) */
  onImage?: () => void;
}

/** Problems with the region files of `images` (empty: all present with the right shapes). */
export async function findRegionProblems(
  images: readonly RegionImage[],
  o: RegionCheckOptions,
): Promise<string[]> {
  const problems: string[] = [];
  const files = new Map<string, H5File | Error>();
  const open = async (path: string) => {
    let f = files.get(path);
    if (!f) {
      try {
        f = await H5File.open(path);
      } catch (e) {
        f = e as Error;
      }
      files.set(path, f);
    }
    return f;
  };
  const cols = { feats: o.dims.F, cls: o.dims.K, bbox: 6 };
  try {
    for (const img of images) {
      const p = regionPaths(o.dataset, o.imageRoot, img.imgId, o.layout, img.filepath ?? "trainval");
      for (const part of ["feats", "cls", "bbox"] as const) {
        const path = p[part];
        if (part !== "bbox" && !p.sharded) {
          try {
            await Deno.stat(path);
          } catch {
            problems.push(`"${img.imgId}": ${part} file "${path}" does not exist`);
          }
          continue;
        }
        const f = await open(path);
        if (f instanceof Error) {
          problems.push(`"${img.imgId}": ${part} file: ${f.message}`);
          continue;
        }
        if (!f.has(img.imgId)) {
          problems.push(`"${img.imgId}": missing from ${part} file "${path}"`);
          continue;
        }
        const shape = f.info(img.imgId).shape;
        if (shape.length !== 2 || shape[0] !== o.dims.R || shape[1] !== cols[part]) {
          problems.push(
            `"${img.imgId}": ${part} in "${path}" has shape [${shape.join(", ")}], expected [${o.dims.R}, ${
              cols[part]
            }]`,
          );
        }
      }
      o.onImage?.();
    }
  } finally {
    for (const f of files.values()) if (f instanceof H5File) f.close();
  }
  return problems;
}
