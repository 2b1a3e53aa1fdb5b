/**
 * The data-set checker behind `deno task check-data`: walks the images of some Karpathy splits that the
 * valid-jpgs file admits, and reports every image whose appearance features, class probabilities or
 * boxes are missing, have the wrong shape or dtype, contain NaN/Inf, or hold absurd boxes — before any
 * training starts. The checks on the arrays are those of `region_check.ts`, which the model's readers run
 * too.
 *
 * @module
 */
import {
  featureDir,
  featureId,
  imagesOfSplits,
  loadKarpathy,
  loadValidJpgs,
  type Split,
} from "./karpathy.ts";
import type { NdArray } from "@vlp/io";
import {
  MissingRegionError,
  type RegionDataset,
  type RegionLayout,
  regionPaths,
  RegionReader,
  RegionShapeError,
} from "./regions.ts";
import { arrayProblem, PROBLEM_KINDS, type ProblemKind, type RegionProblem } from "./region_check.ts";

/** Check one image's three arrays as they are read for the model; an empty list means the image is fine. */
export async function checkImage(
  reader: RegionReader,
  imgId: string,
  filepath?: string,
): Promise<RegionProblem[]> {
  const problems: RegionProblem[] = [];
  for (const part of ["feats", "cls", "bbox"] as const) {
    const add = (kind: ProblemKind, message: string) => problems.push({ imgId, part, kind, message });
    let a: NdArray;
    try {
      a = await reader.readPart(part, imgId, filepath);
    } catch (e) {
      const msg = (e as Error).message;
      if (e instanceof MissingRegionError) add("missing", msg);
      else if (e instanceof RegionShapeError) add("shape", msg);
      else if (e instanceof SyntaxError || e instanceof TypeError || e instanceof RangeError) {
        add("unreadable", msg);
      } else throw e;
      continue;
    }
    const p = arrayProblem(part, a, reader.dims.K);
    if (p) {
      const path = regionPaths(reader.dataset, reader.imageRoot, imgId, reader.layout, filepath)[part];
      add(p.kind, `${part} of "${imgId}" in "${path}" ${p.message}`);
    }
  }
  return problems;
}

/** Options of {@linkcode checkData}. */
export interface CheckDataOptions {
  dataset: RegionDataset;
  /** Karpathy-split JSON (`--src-file`). */
  srcFile: string;
  /** `--image_root` of the region files. */
  imageRoot: string;
  /** `*_valid_jpgs.json`; required. */
  fileValidJpgs: string;
  splits: Split[];
  layout?: Partial<RegionLayout>;
  /** Called after each image with (done, total, images with problems so far). */
  onProgress?: (done: number, total: number, bad: number) => void;
}

/** What {@linkcode checkData} found. */
export interface CheckDataReport {
  dataset: RegionDataset;
  splits: Split[];
  /** Images in the splits. */
  images: number;
  /** Images checked (in the splits and in valid-jpgs). */
  checked: number;
  /** Images in the splits that valid-jpgs leaves out (not checked, not an error). */
  notInValidJpgs: number;
  /** Images with at least one problem. */
  badImages: number;
  counts: Record<ProblemKind, number>;
  problems: RegionProblem[];
}

/** Walk the splits and check every admitted image. */
export async function checkData(opts: CheckDataOptions): Promise<CheckDataReport> {
  const file = await loadKarpathy(opts.srcFile);
  const valid = await loadValidJpgs(opts.fileValidJpgs);
  const inSplits = imagesOfSplits(file, opts.splits);
  const todo = inSplits.filter((img) => valid.has(img.filename));
  const reader = RegionReader.open({ dataset: opts.dataset, imageRoot: opts.imageRoot, layout: opts.layout });
  const counts = Object.fromEntries(PROBLEM_KINDS.map((k) => [k, 0])) as Record<ProblemKind, number>;
  const problems: RegionProblem[] = [];
  let badImages = 0;
  try {
    for (let i = 0; i < todo.length; i++) {
      const img = todo[i]!;
      const found = await checkImage(reader, featureId(img), featureDir(img));
      if (found.length) badImages++;
      for (const p of found) {
        counts[p.kind]++;
        problems.push(p);
      }
      opts.onProgress?.(i + 1, todo.length, badImages);
    }
  } finally {
    reader.close();
  }
  return {
    dataset: opts.dataset,
    splits: opts.splits,
    images: inSplits.length,
    checked: todo.length,
    notInValidJpgs: inSplits.length - todo.length,
    badImages,
    counts,
    problems,
  };
}
