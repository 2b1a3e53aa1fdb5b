/**
 * VLP's region files, per data set (spec §6.3), read and written:
 * - COCO and CC: 1000 HDF5 shards `<image_root>/<prefix>_feat{XYZ}.h5` and `..._cls{XYZ}.h5`
 *   (XYZ = last 3 characters of the image id), one dataset per image id; CC stores float16;
 * - Flickr30k (legacy): `<image_root>/<filepath>/<id>.npy` and `<id>_cls_prob.npy`;
 * - all: one merged bbox file `<image_root>/<bbox file>` keyed by image id.
 *
 * {@linkcode RegionReader} returns an image's arrays as stored, or ready for the model: appearance
 * features as float32 and the 1607-d region vector.
 *
 * @module
 */
import { join } from "node:path";
import {
  fmtShape,
  H5File,
  type NdArray,
  readNpyFile,
  toFloat32,
  writeBytesAtomic,
  writeH5,
  writeNpy,
} from "@vlp/io";
import { regionVector } from "./region_vector.ts";

/** Data sets with a known region layout. */
export type RegionDataset = "coco" | "cc" | "flickr30k";

/** Where one data set's region files live, relative to its image root (VLP's defaults). */
export interface RegionLayout {
  /** `--region_det_file_prefix`; empty for the per-image npy layout (Flickr30k). */
  detFilePrefix: string;
  /** `--region_bbox_file`. */
  bboxFile: string;
}

/** VLP's default layouts, relative to `--image_root` (e.g. `COCO/region_feat_gvd_wo_bgd`). */
export const DEFAULT_LAYOUTS: Readonly<Record<RegionDataset, RegionLayout>> = {
  coco: {
    detFilePrefix: "feat_cls_1000/coco_detection_vg_100dets_gvd_checkpoint_trainval",
    bboxFile: "coco_detection_vg_thresh0.2_feat_gvd_checkpoint_trainvaltest.h5",
  },
  cc: {
    detFilePrefix: "feat_cls_1000_float16/cc_detection_vg_100dets_gvd_checkpoint_trainval",
    bboxFile: "bbox/cc_detection_vg_thresh0.2_feat_gvd_checkpoint_trainval.h5",
  },
  flickr30k: {
    detFilePrefix: "",
    bboxFile: "flickr30k_detection_vg_thresh0.2_feat_gvd_checkpoint_trainvaltest.h5",
  },
};

/** Region counts and sizes (R, F, K of the glossary). */
export interface RegionDims {
  /** Regions per image. */
  R: number;
  /** Appearance feature size. */
  F: number;
  /** Detector classes. */
  K: number;
}

/** VLP's: 100 regions, 2048-d fc6 features, 1601 classes. */
export const VLP_DIMS: Readonly<RegionDims> = { R: 100, F: 2048, K: 1601 };

/** An image's region arrays as stored on disk. */
export interface ImageRegions {
  /** `[R, F]` appearance features (float16 or float32). */
  feats: NdArray;
  /** `[R, K]` class probabilities. */
  cls: NdArray;
  /** `[R, 6]` boxes `x1, y1, x2, y2, class, confidence`. */
  bbox: NdArray;
}

/** An image's model inputs. */
export interface ImageInputs {
  /** `[R, F]` appearance features. */
  feats: Float32Array;
  /** `[R, G]` region vectors, G = 6 + K. */
  visPe: Float32Array;
}

/** Options of {@linkcode RegionReader.open}. */
export interface RegionReaderOptions {
  dataset: RegionDataset;
  /** `--image_root`. */
  imageRoot: string;
  /** Overrides of the default layout. */
  layout?: Partial<RegionLayout>;
  /** Expected dimensions (default {@linkcode VLP_DIMS}). */
  dims?: RegionDims;
  /** Shard files kept open at once (default 64). */
  maxOpenFiles?: number;
}

/** The three arrays of an image. */
export type RegionPart = "feats" | "cls" | "bbox";

/** A region file, or an image's entry in it, does not exist. */
export class MissingRegionError extends RangeError {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = "MissingRegionError";
  }
}

/** A region array has the wrong shape. */
export class RegionShapeError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "RegionShapeError";
  }
}

/** Shard suffix of an image id: its last 3 characters (the whole id when shorter, as Python's `id[-3:]`). */
export function shardOf(imgId: string): string {
  if (imgId === "") throw new RangeError("Image id is empty; no shard");
  return imgId.slice(-3);
}

/** Paths of one image's region files. */
export function regionPaths(
  dataset: RegionDataset,
  imageRoot: string,
  imgId: string,
  layout: RegionLayout = DEFAULT_LAYOUTS[dataset],
  filepath = "trainval",
): { feats: string; cls: string; bbox: string; sharded: boolean } {
  const bbox = join(imageRoot, layout.bboxFile);
  if (layout.detFilePrefix !== "" && dataset !== "flickr30k") {
    const prefix = join(imageRoot, layout.detFilePrefix), s = shardOf(imgId);
    return { feats: `${prefix}_feat${s}.h5`, cls: `${prefix}_cls${s}.h5`, bbox, sharded: true };
  }
  const base = join(imageRoot, filepath, imgId);
  return { feats: `${base}.npy`, cls: `${base}_cls_prob.npy`, bbox, sharded: false };
}

/** Reads region features of one data set, keeping recently used shard files open. */
export class RegionReader {
  readonly dataset: RegionDataset;
  readonly imageRoot: string;
  readonly layout: RegionLayout;
  readonly dims: RegionDims;
  #open = new Map<string, H5File>(); // LRU: insertion order
  #max: number;

  private constructor(opts: RegionReaderOptions) {
    this.dataset = opts.dataset;
    this.imageRoot = opts.imageRoot;
    this.layout = { ...DEFAULT_LAYOUTS[opts.dataset], ...opts.layout };
    this.dims = opts.dims ?? VLP_DIMS;
    this.#max = Math.max(3, opts.maxOpenFiles ?? 64);
  }

  /** A reader for one data set's layout under `imageRoot`. */
  static open(opts: RegionReaderOptions): RegionReader {
    return new RegionReader(opts);
  }

  async #h5(path: string): Promise<H5File> {
    let f = this.#open.get(path);
    if (f) {
      this.#open.delete(path);
      this.#open.set(path, f);
      return f;
    }
    f = await H5File.open(path);
    this.#open.set(path, f);
    while (this.#open.size > this.#max) {
      const [oldest, g] = this.#open.entries().next().value!;
      g.close();
      this.#open.delete(oldest);
    }
    return f;
  }

  /**
   * One of an image's arrays as stored, shape-checked. `filepath` is the Karpathy `filepath` (folder of
   * the per-image npy files, Flickr30k layout only; default `trainval`). Throws
   * {@linkcode MissingRegionError} when the file or the image's entry is missing and
   * {@linkcode RegionShapeError} on a wrong shape.
   */
  async readPart(part: RegionPart, imgId: string, filepath = "trainval"): Promise<NdArray> {
    const what = `Cannot load regions of ${this.dataset} image "${imgId}"`;
    const p = regionPaths(this.dataset, this.imageRoot, imgId, this.layout, filepath);
    const path = p[part];
    const cols = part === "feats" ? this.dims.F : part === "cls" ? this.dims.K : 6;
    const expected = [this.dims.R, cols];
    if (part !== "bbox" && !p.sharded) {
      let arr: NdArray;
      try {
        arr = await readNpyFile(path);
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          throw new MissingRegionError(`${what}: "${path}" does not exist`, path);
        }
        throw e;
      }
      checkShape(arr.shape, expected, `${what}: "${path}"`);
      return arr;
    }
    let f: H5File;
    try {
      f = await this.#h5(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new MissingRegionError(`${what}: "${path}" does not exist`, path);
      }
      throw e;
    }
    if (!f.has(imgId)) {
      throw new MissingRegionError(`${what}: image "${imgId}" is missing from "${path}"`, path);
    }
    checkShape(f.info(imgId).shape, expected, `${what}: "${path}" dataset "${imgId}"`);
    return f.read(imgId);
  }

  /** One image's arrays as stored (see {@linkcode RegionReader.readPart}). */
  async read(imgId: string, filepath = "trainval"): Promise<ImageRegions> {
    return {
      feats: await this.readPart("feats", imgId, filepath),
      cls: await this.readPart("cls", imgId, filepath),
      bbox: await this.readPart("bbox", imgId, filepath),
    };
  }

  /** One image's model inputs: float32 features `[R, F]` and region vectors `[R, 6 + K]`. */
  async load(imgId: string, filepath = "trainval"): Promise<ImageInputs> {
    const r = await this.read(imgId, filepath);
    return {
      feats: toFloat32(r.feats),
      visPe: regionVector(toFloat32(r.bbox), toFloat32(r.cls), this.dims.R),
    };
  }

  /** Close every open shard. */
  close(): void {
    for (const f of this.#open.values()) f.close();
    this.#open.clear();
  }
}

function checkShape(shape: readonly number[], expected: readonly number[], what: string): void {
  if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
    throw new RegionShapeError(`${what} has shape ${fmtShape(shape)}, expected ${fmtShape(expected)}`);
  }
}

/** Options of {@linkcode writeRegionFiles}. */
export interface WriteRegionOptions {
  dataset: RegionDataset;
  imageRoot: string;
  layout?: Partial<RegionLayout>;
  /** Folder of the per-image npy files (Flickr30k layout; default `trainval`). */
  filepath?: string;
}

/**
 * Write images' region arrays in a data set's layout (so any detector's output can feed VLP): the shards
 * (grouped by image-id suffix) or per-image npy files, plus the merged bbox file. Every file is written
 * atomically; existing files with the same names are replaced. Arrays are stored with their dtype
 * (float16 or float32).
 */
export async function writeRegionFiles(
  images: Map<string, ImageRegions>,
  opts: WriteRegionOptions,
): Promise<void> {
  const layout = { ...DEFAULT_LAYOUTS[opts.dataset], ...opts.layout };
  const groups = new Map<string, [string, ImageRegions][]>();
  let bboxPath = "";
  for (const [id, r] of images) {
    const p = regionPaths(opts.dataset, opts.imageRoot, id, layout, opts.filepath);
    bboxPath = p.bbox;
    if (!p.sharded) {
      await Deno.mkdir(join(opts.imageRoot, opts.filepath ?? "trainval"), { recursive: true });
      await writeBytesAtomic(p.feats, writeNpy(r.feats));
      await writeBytesAtomic(p.cls, writeNpy(r.cls));
      continue;
    }
    const key = `${p.feats}\n${p.cls}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push([id, r]);
  }
  for (const [key, list] of groups) {
    const [featPath, clsPath] = key.split("\n") as [string, string];
    await Deno.mkdir(join(featPath, ".."), { recursive: true });
    await writeH5(featPath, list.map(([id, r]) => [id, r.feats]));
    await writeH5(clsPath, list.map(([id, r]) => [id, r.cls]));
  }
  if (bboxPath) {
    await Deno.mkdir(join(bboxPath, ".."), { recursive: true });
    await writeH5(bboxPath, [...images].map(([id, r]) => [id, r.bbox]));
  }
}
