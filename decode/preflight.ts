/**
 * Checks that run before any decoding starts: every image's region files and entries exist with the right
 * shapes, and their arrays pass the checks the loader runs (float dtypes, finite values, sensible boxes:
 * `@vlp/features`' `checkImage`, as `check-data` runs them), so a long run never dies half-way on a missing
 * or damaged image, and never captions NaN. It reads every array once (reading is thousands of images a
 * second, decoding a few: about a thousandth of the run).
 *
 * @module
 */
import {
  checkImage,
  type RegionDataset,
  type RegionDims,
  type RegionLayout,
  regionPaths,
  RegionReader,
} from "@vlp/features";

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

/** Problems with the region files of `images`, one line each (empty: all present and sound). */
export async function findRegionProblems(
  images: readonly RegionImage[],
  o: RegionCheckOptions,
): Promise<string[]> {
  const problems: string[] = [];
  const reader = RegionReader.open({
    dataset: o.dataset,
    imageRoot: o.imageRoot,
    layout: o.layout,
    dims: o.dims,
  });
  try {
    for (const img of images) {
      for (const p of await checkImage(reader, img.imgId, img.filepath)) problems.push(p.message);
      o.onImage?.();
    }
  } finally {
    reader.close();
  }
  return problems;
}

/** Every region file `images` are read from (so that no output lands on one). */
export function regionFiles(
  images: readonly RegionImage[],
  o: Pick<RegionCheckOptions, "dataset" | "imageRoot" | "layout">,
): string[] {
  const files = new Set<string>();
  for (const img of images) {
    const p = regionPaths(o.dataset, o.imageRoot, img.imgId, o.layout, img.filepath);
    for (const path of [p.feats, p.cls, p.bbox]) files.add(path);
  }
  return [...files];
}

/**
 * {@linkcode findRegionProblems}, as one error listing the first ten problems: `N problem(s) with the region
 * features, <consequence>:` and one indented line each.
 */
export async function assertRegionsSound(
  images: readonly RegionImage[],
  o: RegionCheckOptions,
  consequence: string,
): Promise<void> {
  const problems = await findRegionProblems(images, o);
  if (problems.length === 0) return;
  throw new RangeError(
    `${problems.length} problem(s) with the region features, ${consequence}:\n  ` +
      problems.slice(0, 10).join("\n  ") +
      (problems.length > 10 ? `\n  ... (${problems.length} in all)` : ""),
  );
}
