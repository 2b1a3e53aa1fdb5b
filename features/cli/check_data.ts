/**
 * `deno task check-data --dataset coco|flickr30k|cc --src-file F --image-root R --file-valid-jpgs V
 * [--split S ...]`: reports, before any training starts, every image of the split(s) whose region
 * features, class probabilities or boxes are missing, have the wrong shape or dtype, or contain NaN/Inf.
 *
 * Optional: `--region-det-file-prefix P` and `--region-bbox-file B` (VLP's flags, relative to the image
 * root; defaults per data set), `--max-report N` (problems listed on stderr, default 50).
 * Progress and the problem list go to stderr; the last stdout line is one JSON object of the figures.
 * Exit code: 0 all good, 1 problems found (or valid-jpgs admits no image of the splits) or an input that
 * cannot be read, 2 bad flags.
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand, userPath } from "@vlp/command";
import { checkData, PROBLEM_KINDS } from "../check_data.ts";
import { SPLITS } from "../karpathy.ts";

const USAGE = `Usage: deno task check-data --dataset coco|flickr30k|cc --src-file F --image-root R
                            --file-valid-jpgs V [--split S ...] [options]
  --dataset D                 coco | flickr30k | cc: the region layout
  --src-file F                Karpathy-split JSON (dataset_coco.json, ...)
  --image-root R              root of the region features
  --file-valid-jpgs V         *_valid_jpgs.json: the images that have features
  --split S ...               splits to check (default train restval; also --split a --split b, --split a,b)
  --region-det-file-prefix P  feature shard prefix under the image root (default: the data set's)
  --region-bbox-file B        merged bbox HDF5 under the image root (default: the data set's)
  --max-report N              problems listed on stderr (default 50)
  --help                      show this text`;

const Flags = z.object({
  dataset: z.enum(["coco", "flickr30k", "cc"]),
  "src-file": z.string().min(1),
  "image-root": z.string().min(1),
  "file-valid-jpgs": z.string().min(1),
  split: z.array(z.enum(SPLITS)).min(1).default(["train", "restval"]),
  "region-det-file-prefix": z.string().optional(),
  "region-bbox-file": z.string().optional(),
  "max-report": integer(0).default(50),
});

const CMD: Command<z.infer<typeof Flags>> = { name: "check-data", usage: USAGE, flags: Flags };

async function main(a: z.infer<typeof Flags>): Promise<number> {
  const t0 = performance.now();
  let lastShown = 0;
  const report = await checkData({
    dataset: a.dataset,
    srcFile: userPath(a["src-file"]),
    imageRoot: userPath(a["image-root"]),
    fileValidJpgs: userPath(a["file-valid-jpgs"]),
    splits: a.split,
    layout: {
      ...(a["region-det-file-prefix"] !== undefined ? { detFilePrefix: a["region-det-file-prefix"] } : {}),
      ...(a["region-bbox-file"] !== undefined ? { bboxFile: a["region-bbox-file"] } : {}),
    },
    onProgress: (done, total, bad) => {
      const now = performance.now();
      if (now - lastShown > 1000 || done === total) {
        lastShown = now;
        console.error(`checked ${done}/${total} images, ${bad} with problems`);
      }
    },
  });
  for (const p of report.problems.slice(0, a["max-report"])) console.error(`${p.kind}\t${p.message}`);
  if (report.problems.length > a["max-report"]) {
    console.error(`... ${report.problems.length - a["max-report"]} more problems not listed`);
  }
  const summary = PROBLEM_KINDS.map((k) => `${report.counts[k]} ${k}`).join(", ");
  console.error(
    `${report.checked} images checked (${report.notInValidJpgs} of ${report.images} in the splits are not in ` +
      `valid-jpgs), ${report.badImages} with problems: ${summary}`,
  );
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({
    dataset: report.dataset,
    splits: report.splits,
    images: report.images,
    checked: report.checked,
    not_in_valid_jpgs: report.notInValidJpgs,
    bad_images: report.badImages,
    ...report.counts,
    seconds: Number(seconds.toFixed(3)),
    images_per_s: Number((report.checked / Math.max(seconds, 1e-9)).toFixed(1)),
  }));
  if (report.checked === 0 && report.images > 0) {
    console.error(
      "check-data: no image of the splits is in the valid-jpgs file: training would load nothing",
    );
    return 1;
  }
  return report.badImages > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(startCommand(CMD)));
