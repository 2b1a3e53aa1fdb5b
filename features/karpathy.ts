/**
 * Karpathy-split caption files (`dataset_coco.json`, `dataset_flickr30k.json`, `dataset_cc.json`) and
 * `*_valid_jpgs.json`, validated with zod (spec §6.1), plus the image ids VLP derives from them.
 *
 * @module
 */
import { z } from "zod";
import { parseWith, readJson } from "./validate.ts";

/** Caption data sets VLP evaluates on. */
export type CaptionDataset = "coco" | "flickr30k" | "cc";

/** Karpathy splits. */
export const SPLITS = ["train", "restval", "val", "test"] as const;
/** One Karpathy split. */
export type Split = typeof SPLITS[number];

/** One caption. */
export interface KarpathySentence {
  raw: string;
  tokens?: string[];
  imgid?: number;
  sentid?: number;
  [extra: string]: unknown;
}

/** One image entry of a Karpathy file. */
export interface KarpathyImage {
  /** e.g. `COCO_val2014_000000391895.jpg`. */
  filename: string;
  /** e.g. `val2014`; VLP's default is `trainval`. */
  filepath?: string;
  split: Split;
  sentences: KarpathySentence[];
  imgid?: number;
  cocoid?: number;
  sentids?: number[];
  [extra: string]: unknown;
}

/** A whole Karpathy file. */
export interface KarpathyFile {
  images: KarpathyImage[];
  dataset?: string;
  [extra: string]: unknown;
}

const sentenceSchema: z.ZodType<KarpathySentence> = z.object({
  raw: z.string(),
  tokens: z.array(z.string()).optional(),
  imgid: z.number().int().optional(),
  sentid: z.number().int().optional(),
}).passthrough();

const imageSchema: z.ZodType<KarpathyImage> = z.object({
  filename: z.string().regex(
    /^[^/\\]+\.[A-Za-z]{3}$/,
    "expected a file name with a 3-letter extension, e.g. x.jpg",
  ),
  filepath: z.string().optional(),
  split: z.enum(SPLITS),
  sentences: z.array(sentenceSchema),
  imgid: z.number().int().optional(),
  cocoid: z.number().int().optional(),
  sentids: z.array(z.number().int()).optional(),
}).passthrough();

const datasetSchema: z.ZodType<KarpathyFile> = z.object({
  images: z.array(imageSchema),
  dataset: z.string().optional(),
}).passthrough();

/** Read and validate a Karpathy-split JSON file. */
export async function loadKarpathy(path: string): Promise<KarpathyFile> {
  return parseWith(datasetSchema, await readJson(path), path);
}

/**
 * The feature key of an image: its file name without the extension, as VLP's loader derives it
 * (`COCO_val2014_000000391895`, `1000092795`, `1000`).
 */
export function featureId(img: KarpathyImage): string {
  return img.filename.slice(0, -4);
}

/** The folder of the image's per-image feature files (Karpathy `filepath`, default `trainval`). */
export function featureDir(img: KarpathyImage): string {
  return img.filepath ?? "trainval";
}

/**
 * The image id used in caption evaluation: COCO → int of the third `_` field of the file stem,
 * Flickr30k → int of the file stem, CC → `imgid`.
 */
export function evalImageId(dataset: CaptionDataset, img: KarpathyImage, file = "dataset"): number {
  const stem = featureId(img);
  let text: string | undefined;
  if (dataset === "coco") text = stem.split("_")[2];
  else if (dataset === "flickr30k") text = stem;
  else {
    if (img.imgid === undefined) {
      throw new TypeError(`Invalid "${file}": CC image "${img.filename}" has no imgid`);
    }
    return img.imgid;
  }
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new TypeError(
      `Invalid "${file}": cannot derive a numeric ${dataset} evaluation id from "${img.filename}"` +
        (dataset === "coco" ? " (expected COCO_<set>_<digits>.jpg)" : " (expected <digits>.jpg)"),
    );
  }
  return Number(text);
}

/** The images of the given splits, in file order. */
export function imagesOfSplits(file: KarpathyFile, splits: readonly Split[]): KarpathyImage[] {
  const want = new Set<string>(splits);
  return file.images.filter((img) => want.has(img.split));
}

const validJpgsSchema = z.record(z.string(), z.string());

/**
 * Read a `*_valid_jpgs.json` file: the set of usable image file names. A missing file is an error: the
 * original loader silently writes an empty one instead, after which no example is ever loaded.
 */
export async function loadValidJpgs(path: string): Promise<Set<string>> {
  let json: unknown;
  try {
    json = await readJson(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `Cannot read valid-jpgs file "${path}": no such file. Supply the data set's *_valid_jpgs.json ` +
          `(an object whose keys are the usable image file names); it is never created implicitly`,
      );
    }
    throw e;
  }
  const record = parseWith(validJpgsSchema, json, path);
  return new Set(Object.keys(record));
}
