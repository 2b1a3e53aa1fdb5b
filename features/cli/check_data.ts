/**
 * `deno task check-data --dataset coco|flickr30k|cc --src-file F --image-root R --file-valid-jpgs V
 * [--split S ...]`: reports, before any training starts, every image of the split(s) whose region
 * features, class probabilities or boxes are missing, have the wrong shape or dtype, or contain NaN/Inf.
 *
 * Optional: `--region-det-file-prefix P` and `--region-bbox-file B` (VLP's flags, relative to the image
 * root; defaults per data set), `--max-report N` (problems listed on stderr, default 50).
 * Progress and the problem list go to stderr; the last stdout line is one JSON object of the figures.
 * Exit code: 0 all good, 1 problems found (or valid-jpgs admits no image of the splits), 2 bad arguments
 * or unreadable inputs.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { checkData, PROBLEM_KINDS } from "../check_data.ts";
import { SPLITS } from "../karpathy.ts";

const USAGE = "usage: check-data --dataset coco|flickr30k|cc --src-file F --image-root R " +
  "--file-valid-jpgs V [--split S ...] [--region-det-file-prefix P] [--region-bbox-file B] [--max-report N]";

const argsSchema = z.object({
  dataset: z.enum(["coco", "flickr30k", "cc"]),
  "src-file": z.string().min(1),
  "image-root": z.string().min(1),
  "file-valid-jpgs": z.string().min(1),
  split: z.array(z.enum(SPLITS)).min(1),
  "region-det-file-prefix": z.string().optional(),
  "region-bbox-file": z.string().optional(),
  "max-report": z.coerce.number().int().min(0),
});

async function main(): Promise<number> {
  let raw;
  try {
    raw = parseArgs({
      args: Deno.args,
      options: {
        dataset: { type: "string" },
        "src-file": { type: "string" },
        "image-root": { type: "string" },
        "file-valid-jpgs": { type: "string" },
        split: { type: "string", multiple: true },
        "region-det-file-prefix": { type: "string" },
        "region-bbox-file": { type: "string" },
        "max-report": { type: "string", default: "50" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
  } catch (e) {
    console.error(`check-data: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (raw.values.help) {
    console.error(USAGE);
    return 0;
  }
  // `--split train restval` (VLP's form), `--split train --split restval` and `--split train,restval`
  const splits = [...(raw.values.split ?? ["train", "restval"]), ...raw.positionals]
    .flatMap((s) => s.split(","))
    .filter((s) => s !== "");
  const parsed = argsSchema.safeParse({ ...raw.values, split: splits });
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `--${i.path[0]}: ${i.message}`).join("; ");
    console.error(`check-data: ${why}\n${USAGE}`);
    return 2;
  }
  const a = parsed.data;
  const t0 = performance.now();
  let lastShown = 0;
  let report;
  try {
    report = await checkData({
      dataset: a.dataset,
      srcFile: a["src-file"],
      imageRoot: a["image-root"],
      fileValidJpgs: a["file-valid-jpgs"],
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
  } catch (e) {
    console.error(`check-data: ${(e as Error).message}`);
    return 2;
  }
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

Deno.exit(await main());
