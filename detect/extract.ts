/**
 * A folder of images → the files VLP reads (what detectron-vlp's `tools/extract_features.py` writes, with
 * its per-shard bbox files already merged, detectron-vlp issue #3):
 *
 * - `feat`/`cls` shards (float16; 1000 shards by the last three characters of the image id) under the data
 *   set's default prefix, or per-image `.npy` files for Flickr30k; the merged bbox HDF5 (float32);
 * - `dataset_<dataset>.json`: a Karpathy-style file listing every image that got regions (split `test`, no
 *   sentences; `source` is the image's path under the images folder) and `<dataset>_valid_jpgs.json`.
 *
 * Image names: a file already named as the data set's images are (`COCO_<set>_<digits>.jpg`,
 * `<digits>.jpg`) keeps its name; any other gets the next free id (`COCO_images_000000000001.jpg`, `1.jpg`).
 * Resumable: a rerun keeps the names of the images listed in the existing dataset file and skips those whose
 * regions are already in the bbox file (written after their shards). An image that cannot be read or
 * gives fewer than 100 regions is named on stderr and skipped; it never stops the folder.
 *
 * @module
 */
import { join } from "node:path";
import { H5File, type NdArray, writeBytesAtomic, writeH5, writeNpy, writeTextAtomic } from "@vlp/io";
import { checkImageRegions, DEFAULT_LAYOUTS, type RegionDataset, regionPaths } from "@vlp/features";
import type { Detector } from "./detector.ts";
import { MIN_BOXES } from "./head.ts";
import { readImage } from "./image.ts";

/** One entry of the written dataset file. */
export interface ExtractedImage {
  split: "test";
  filename: string;
  imgid: number;
  sentences: never[];
  /** the image file, relative to the images folder */
  source: string;
  filepath?: string;
}

/** Options of {@linkcode extractFeatures}. */
export interface ExtractOptions {
  detector: Detector;
  images: string;
  out: string;
  dataset: RegionDataset;
  /** images written per flush of the shard files (default 32) */
  flushEvery?: number;
  /** progress and skipped images (default: stderr) */
  log?: (line: string) => void;
}

/** What {@linkcode extractFeatures} did. */
export interface ExtractReport {
  images: number;
  extracted: number;
  resumed: number;
  failed: { source: string; error: string }[];
  seconds: number;
  imagesPerSecond: number;
}

const IMAGE_FILE = /\.(jpe?g|png)$/i;

/** The dataset file's and valid-jpgs file's paths under the output root. */
export function datasetFiles(out: string, dataset: RegionDataset): { dataset: string; validJpgs: string } {
  return {
    dataset: join(out, `dataset_${dataset}.json`),
    validJpgs: join(out, `${dataset}_valid_jpgs.json`),
  };
}

/** The files in `dir` (sorted, recursively, hidden ones left out), as paths relative to it. */
export async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const entries = [];
    for await (const e of Deno.readDir(join(dir, rel))) entries.push(e);
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (e.name.startsWith(".")) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) out.push(p);
    }
  };
  await walk("");
  return out;
}

/** The data set's own file name for `name`, when it already is one (then the image keeps it). */
function ownName(dataset: RegionDataset, name: string): { filename: string; imgid: number } | undefined {
  const m = dataset === "coco"
    ? /^COCO_[A-Za-z0-9]+_(\d+)\.(jpg|png)$/.exec(name)
    : /^(\d+)\.(jpg|png)$/.exec(name);
  if (!m) return undefined;
  const imgid = Number(m[1]);
  return Number.isSafeInteger(imgid) ? { filename: name, imgid } : undefined;
}

function newName(dataset: RegionDataset, id: number): string {
  return dataset === "coco" ? `COCO_images_${String(id).padStart(12, "0")}.jpg` : `${id}.jpg`;
}

async function readEntries(path: string): Promise<ExtractedImage[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new Error(`Cannot read "${path}": ${(e as Error).message}`);
  }
  let images: unknown;
  try {
    images = (JSON.parse(text) as { images?: unknown }).images;
  } catch (e) {
    throw new SyntaxError(`Cannot resume from "${path}": ${(e as Error).message}`);
  }
  if (
    !Array.isArray(images) ||
    images.some((i) => typeof i?.source !== "string" || typeof i?.filename !== "string")
  ) {
    throw new TypeError(
      `Cannot resume from "${path}": it was not written by extract-features (no "source" fields)`,
    );
  }
  return images as ExtractedImage[];
}

async function existingKeys(path: string): Promise<Set<string>> {
  try {
    await Deno.stat(path);
  } catch {
    return new Set();
  }
  const f = await H5File.open(path);
  try {
    return new Set(f.keys());
  } finally {
    f.close();
  }
}

/** Rewrite `path` with its existing datasets plus `add` (replacing equal names). */
async function mergeH5(path: string, add: [string, NdArray][]): Promise<void> {
  const merged = new Map<string, NdArray>();
  try {
    await Deno.stat(path);
    const f = await H5File.open(path);
    try {
      for (const k of f.keys()) merged.set(k, f.read(k));
    } finally {
      f.close();
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  for (const [k, v] of add) merged.set(k, v);
  await Deno.mkdir(join(path, ".."), { recursive: true });
  await writeH5(path, [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface Pending {
  id: string;
  feats: NdArray;
  cls: NdArray;
  bbox: NdArray;
}

/** Write pending regions: shards (or npy files) first, the merged bbox file last. */
async function flush(out: string, dataset: RegionDataset, pending: Pending[]): Promise<void> {
  if (pending.length === 0) return;
  const layout = DEFAULT_LAYOUTS[dataset];
  const shards = new Map<string, [string, NdArray][]>();
  let bboxPath = "";
  for (const p of pending) {
    const paths = regionPaths(dataset, out, p.id, layout);
    bboxPath = paths.bbox;
    if (!paths.sharded) {
      await Deno.mkdir(join(paths.feats, ".."), { recursive: true });
      await writeBytesAtomic(paths.feats, writeNpy(p.feats));
      await writeBytesAtomic(paths.cls, writeNpy(p.cls));
      continue;
    }
    for (const [path, arr] of [[paths.feats, p.feats], [paths.cls, p.cls]] as const) {
      if (!shards.has(path)) shards.set(path, []);
      shards.get(path)!.push([p.id, arr]);
    }
  }
  for (const [path, list] of shards) await mergeH5(path, list);
  await mergeH5(bboxPath, pending.map((p) => [p.id, p.bbox]));
}

/** Run the detector over a folder and write VLP's region files (see the module doc). */
export async function extractFeatures(opts: ExtractOptions): Promise<ExtractReport> {
  const { detector, dataset, out } = opts, log = opts.log ?? ((l: string) => console.error(l));
  const cfg = detector.cfg, F = cfg.FAST_RCNN.MLP_HEAD_DIM, K = cfg.MODEL.NUM_CLASSES;
  const files = datasetFiles(out, dataset);
  const sources = await listImages(opts.images);
  const previous = new Map((await readEntries(files.dataset)).map((e) => [e.source, e]));
  const bboxPath = join(out, DEFAULT_LAYOUTS[dataset].bboxFile);
  const done = await existingKeys(bboxPath);
  const used = new Set([...previous.values()].map((e) => e.imgid));
  const taken = new Set([...previous.values()].map((e) => e.filename));
  const entries: ExtractedImage[] = [], failed: ExtractReport["failed"] = [];
  let nextId = 1, extracted = 0, resumed = 0, pending: Pending[] = [];
  const t0 = performance.now();
  const writeLists = async () => {
    const listed = entries.filter((e) => done.has(e.filename.slice(0, -4)));
    await Deno.mkdir(out, { recursive: true });
    await writeTextAtomic(files.dataset, JSON.stringify({ dataset, images: listed }, null, 1) + "\n");
    await writeTextAtomic(
      files.validJpgs,
      JSON.stringify(Object.fromEntries(listed.map((e) => [e.filename, e.filename]))) + "\n",
    );
  };
  const name = (source: string): ExtractedImage => {
    const own = ownName(dataset, source.split("/").pop()!);
    let entry: ExtractedImage;
    if (own && !taken.has(own.filename) && !used.has(own.imgid)) {
      entry = { split: "test", ...own, sentences: [], source };
    } else {
      while (used.has(nextId)) nextId++;
      entry = { split: "test", filename: newName(dataset, nextId), imgid: nextId, sentences: [], source };
    }
    used.add(entry.imgid);
    taken.add(entry.filename);
    return entry;
  };
  for (const [n, source] of sources.entries()) {
    const known = previous.get(source);
    if (known && done.has(known.filename.slice(0, -4))) {
      entries.push(known);
      resumed++;
      continue;
    }
    let id: string;
    try {
      if (!IMAGE_FILE.test(source)) throw new Error("not a .jpg, .jpeg or .png file");
      const img = await readImage(join(opts.images, source));
      const r = await detector.detect(img);
      if (r.count < MIN_BOXES) throw new RangeError(`the detector found no region`);
      if (r.padded > 0) {
        log(
          `extract-features: note: "${source}" has ${
            r.count - r.padded
          } RoIs; rows repeated up to ${MIN_BOXES}`,
        );
      }
      // an image gets its name (and id) once it has regions; a known one keeps its name
      const entry = known ?? name(source);
      id = entry.filename.slice(0, -4);
      const regions: Pending = {
        id,
        feats: { dtype: "float16", shape: [r.count, F], data: Float16Array.from(r.feat) },
        cls: { dtype: "float16", shape: [r.count, K], data: Float16Array.from(r.cls) },
        bbox: { dtype: "float32", shape: [r.count, 6], data: r.bbox },
      };
      // what the data-set checker would refuse is never written (e.g. a 1×1 image: every box at 0)
      const problems = checkImageRegions(id, regions, { R: r.count, F, K });
      if (problems.length) throw new RangeError(problems[0]!.message);
      pending.push(regions);
      entries.push(entry);
      extracted++;
    } catch (e) {
      const msg = (e as Error).message;
      failed.push({ source, error: msg });
      log(`extract-features: skipped "${source}": ${msg}`);
      continue;
    }
    const secs = (performance.now() - t0) / 1000, rate = extracted / secs;
    const eta = Math.round((sources.length - n - 1) / Math.max(rate, 1e-9));
    log(
      `extract-features: [${n + 1}/${sources.length}] ${source} → ${id} (${rate.toFixed(2)} images/s, ` +
        `ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, "0")})`,
    );
    if (pending.length >= (opts.flushEvery ?? 32)) {
      await flush(out, dataset, pending);
      for (const p of pending) done.add(p.id);
      pending = [];
      await writeLists();
    }
  }
  await flush(out, dataset, pending);
  for (const p of pending) done.add(p.id);
  await writeLists();
  const seconds = (performance.now() - t0) / 1000;
  return {
    images: sources.length,
    extracted,
    resumed,
    failed,
    seconds,
    imagesPerSecond: extracted / Math.max(seconds, 1e-9),
  };
}
