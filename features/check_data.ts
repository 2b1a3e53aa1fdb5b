/**
 * The data-set checker behind `deno task check-data`: walks the images of some Karpathy splits that the
 * valid-jpgs file admits, and reports every image whose appearance features, class probabilities or
 * boxes are missing, have the wrong shape or dtype, or contain NaN/Inf — before any training starts.
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
  type RegionPart,
  RegionReader,
  RegionShapeError,
} from "./regions.ts";

/** What can be wrong with one array. */
export type ProblemKind = "missing" | "shape" | "dtype" | "nonfinite" | "unreadable";
/** Every problem kind, in report order. */
export const PROBLEM_KINDS: readonly ProblemKind[] = ["missing", "shape", "dtype", "nonfinite", "unreadable"];

/** One problem of one image. */
export interface RegionProblem {
  imgId: string;
  part: RegionPart;
  kind: ProblemKind;
  message: string;
}

const FLOAT_DTYPES = new Set(["float16", "float32", "float64"]);

/** Index of the first NaN/Inf element, or -1. float16 is checked on its bits. */
export function firstNonFinite(a: NdArray): number {
  if (a.dtype === "float16") {
    const bits = new Uint16Array(a.data.buffer, a.data.byteOffset, a.data.length);
    for (let i = 0; i < bits.length; i++) if ((bits[i]! & 0x7c00) === 0x7c00) return i;
    return -1;
  }
  const d = a.data as Float32Array | Float64Array;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return i;
  return -1;
}

/** Check one image's three arrays; an empty list means the image is fine. */
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
    if (!FLOAT_DTYPES.has(a.dtype)) {
      add("dtype", `${part} of "${imgId}" is ${a.dtype}, expected float16, float32 or float64`);
      continue;
    }
    const bad = firstNonFinite(a);
    if (bad >= 0) {
      const cols = a.shape[1]!;
      add(
        "nonfinite",
        `${part} of "${imgId}" has ${a.data[bad]} at [${Math.floor(bad / cols)}, ${bad % cols}]`,
      );
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
