/**
 * `deno task extract-features --detector_weights FILE --images DIR --out IMAGE_ROOT [--dataset coco|flickr30k|cc]`:
 * detectron-vlp's region extraction (`tools/extract_features.py`, with its bbox shards merged) in our engine,
 * writing the region files VLP reads and a Karpathy-style `dataset_<dataset>.json` with a valid-jpgs file,
 * so that `deno task check-data` and `deno task decode` run on `IMAGE_ROOT` unchanged (see `extract.ts`).
 *
 * Unreadable images are named on stderr and skipped; a rerun skips the images already written. The last
 * stdout line is one JSON object of the figures. Exit code: 0 (also when some images were skipped), 1 when
 * an input cannot be read or no image got regions, 2 bad flags.
 *
 * @module
 */
import { z } from "zod";
import {
  checkOutputDir,
  type Command,
  integer,
  refuseOverwritingInputs,
  startCommand,
  UsageError,
  userPath,
} from "@vlp/command";
import { removeStaleTemporaries } from "@vlp/io";
import { DEFAULT_LAYOUTS } from "@vlp/features";
import { openBackend } from "@vlp/model";
import { readDetectorConfig, RELEASED_CONFIG } from "../config.ts";
import { loadDetectorWeights } from "../weights.ts";
import { Detector } from "../detector.ts";
import { datasetFiles, extractFeatures } from "../extract.ts";
import { join, resolve } from "node:path";

const USAGE =
  `Usage: deno task extract-features --detector_weights FILE --images DIR --out IMAGE_ROOT [options]
  --detector_weights F   Detectron weights (.pkl), e.g. e2e_faster_rcnn_X-101-64x4d-FPN_2x-vlp.pkl
  --detector_config F    Detectron's YAML config, or JSON of its fields (default: the released model's)
  --images DIR           folder of JPEG/PNG images (read recursively)
  --out DIR              image root to write: region shards, merged bbox file, dataset_<D>.json, <D>_valid_jpgs.json
  --dataset D            coco | flickr30k | cc: the region layout and image naming (default coco)
  --backend NAME         reference | blas | webgpu (default blas)
  --threads N            OpenBLAS threads (default: OpenBLAS's)
  --help                 show this text`;

const Flags = z.object({
  detector_weights: z.string({ required_error: "--detector_weights FILE is required" }).min(1),
  detector_config: z.string().min(1).optional(),
  images: z.string({ required_error: "--images DIR is required" }).min(1),
  out: z.string({ required_error: "--out DIR is required" }).min(1),
  dataset: z.enum(["coco", "flickr30k", "cc"]).default("coco"),
  backend: z.enum(["reference", "blas", "webgpu"]).default("blas"),
  threads: integer(1).optional(),
});
type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = { name: "extract-features", usage: USAGE, flags: Flags };

async function main(f: Flags): Promise<number> {
  const weightsPath = userPath(f.detector_weights), images = userPath(f.images), out = userPath(f.out);
  try {
    if (!(await Deno.stat(images)).isDirectory) throw new Error("it is not a folder");
  } catch (e) {
    throw new Error(`Cannot read --images "${images}": ${(e as Error).message}`);
  }
  if (resolve(out) === resolve(images)) {
    throw new UsageError(
      "--out must not be the --images folder (the region files would mix with the images)",
      "--out",
    );
  }
  const files = datasetFiles(out, f.dataset);
  const layout = DEFAULT_LAYOUTS[f.dataset];
  const inputs = [
    { name: "--detector_weights", path: weightsPath },
    ...(f.detector_config ? [{ name: "--detector_config", path: userPath(f.detector_config) }] : []),
  ];
  await refuseOverwritingInputs([
    { name: "dataset file", path: files.dataset },
    { name: "valid-jpgs file", path: files.validJpgs },
    { name: "bbox file", path: join(out, layout.bboxFile) },
  ], inputs);
  await checkOutputDir(out, "--out", { create: true });
  const cfg = f.detector_config ? await readDetectorConfig(userPath(f.detector_config)) : RELEASED_CONFIG;
  const weights = await loadDetectorWeights(weightsPath, cfg);
  await Deno.mkdir(out, { recursive: true });
  await removeStaleTemporaries(out);
  if (layout.detFilePrefix) {
    const shardDir = join(out, layout.detFilePrefix, "..");
    await Deno.mkdir(shardDir, { recursive: true });
    await removeStaleTemporaries(shardDir);
  }
  const detector = new Detector(cfg, weights, await openBackend(f.backend, { threads: f.threads }));
  const r = await extractFeatures({ detector, images, out, dataset: f.dataset });
  console.error(
    `extract-features: ${r.extracted} images extracted, ${r.resumed} already there, ${r.failed.length} skipped` +
      ` → ${files.dataset}`,
  );
  console.log(JSON.stringify({
    dataset: f.dataset,
    images: r.images,
    extracted: r.extracted,
    resumed: r.resumed,
    skipped: r.failed.length,
    seconds: Number(r.seconds.toFixed(3)),
    images_per_s: Number(r.imagesPerSecond.toFixed(3)),
  }));
  return r.extracted + r.resumed === 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(startCommand(CMD)));
