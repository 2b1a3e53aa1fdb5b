/**
 * `deno task caption --images DIR --detector_weights FILE --model_recover_path model.bin --vocab vocab.txt`:
 * captions for one's own images in one command: the detector of `@vlp/detect` (detectron-vlp's regions),
 * the region vector of `@vlp/features`, and VLP's decoding of `@vlp/decode` (greedy, or beam search with
 * `--beam_size`). The regions are rounded to float16 as `extract-features` stores them, so the captions are
 * those of `extract-features` followed by `decode`.
 *
 * stdout: one line `<image>\t<caption>` per image (its path under --images), then one JSON line
 * `{"images", "captioned", "skipped", "results": [{"image", "caption"}], "seconds", ...}`. Unreadable images
 * are named on stderr and skipped. Exit code: 0, 1 when an input cannot be read or no image got a caption,
 * 2 bad flags.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { type Command, integer, startCommand, userPath } from "@vlp/command";
import { listImages, MIN_BOXES, readImage } from "@vlp/detect";
import { DETECTOR_MODEL_USAGE, detectorModelShape, openDetector } from "./detector_setup.ts";
import { checkImageRegions, regionVector } from "@vlp/features";
import { BEAM_SIZE, bertBaseConfig, createModel, MAX_TGT_LENGTH, readBertConfig } from "@vlp/model";
import { CaptionDecoder, captionText } from "@vlp/decode";
import { Vocab } from "@vlp/tokenizer";

const USAGE =
  `Usage: deno task caption --images DIR --detector_weights F --model_recover_path M --vocab V [options]
  --images DIR            folder of JPEG/PNG images (read recursively)
${DETECTOR_MODEL_USAGE}
  --beam_size W           1 = greedy (default ${BEAM_SIZE})
  --max_tgt_length T      generated positions (default ${MAX_TGT_LENGTH})
  --batch_size B          images per decoding batch (default 4)
  --help                  show this text`;

const Flags = z.object({
  images: z.string({ required_error: "--images DIR is required" }).min(1),
  ...detectorModelShape,
  beam_size: integer(1).default(BEAM_SIZE),
  max_tgt_length: integer(1).default(MAX_TGT_LENGTH),
  batch_size: integer(1).default(4),
});
type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = { name: "caption", usage: USAGE, flags: Flags };

/** float32 → float16 → float32, as the region shards store the arrays. */
function viaFloat16(x: Float32Array): Float32Array {
  return Float32Array.from(Float16Array.from(x));
}

async function main(f: Flags): Promise<number> {
  const t0 = performance.now();
  const images = userPath(f.images);
  try {
    if (!(await Deno.stat(images)).isDirectory) throw new Error("it is not a folder");
  } catch (e) {
    throw new Error(`Cannot read --images "${images}": ${(e as Error).message}`);
  }
  const vocab = await Vocab.load(userPath(f.vocab));
  const config = f.config_path ? await readBertConfig(userPath(f.config_path)) : bertBaseConfig;
  if (vocab.size !== config.vocabSize) {
    throw new Error(
      `vocabulary "${userPath(f.vocab)}" has ${vocab.size} tokens but the model has ${config.vocabSize}`,
    );
  }
  const { backend, detector } = await openDetector(f);
  const dcfg = detector.cfg;
  const model = await createModel({ config, backend, checkpoint: userPath(f.model_recover_path) });
  const { regions: R, regionFeatureSize: F, regionGeometrySize: G } = config;
  if (dcfg.FAST_RCNN.MLP_HEAD_DIM !== F || dcfg.MODEL.NUM_CLASSES + 6 !== G || R !== MIN_BOXES) {
    throw new Error(
      `the detector gives ${MIN_BOXES} regions of ${dcfg.FAST_RCNN.MLP_HEAD_DIM}-d features and ` +
        `${dcfg.MODEL.NUM_CLASSES} classes, the model takes ${R} of ${F}-d and ${G - 6}`,
    );
  }
  const B = f.batch_size, W = f.beam_size, T = f.max_tgt_length;
  const dec = new CaptionDecoder(model, { maxImages: B, maxWidth: W, maxTgtLength: T });
  const results: { image: string; caption: string }[] = [], skipped: string[] = [];
  let batch: { source: string; feats: Float32Array; visPe: Float32Array }[] = [];
  const run = async () => {
    const n = batch.length;
    if (n === 0) return;
    const regionFeats = new Float32Array(n * R * F), visPe = new Float32Array(n * R * G); // [n, R, F], [n, R, G]
    batch.forEach((b, j) => {
      regionFeats.set(b.feats, j * R * F);
      visPe.set(b.visPe, j * R * G);
    });
    let seqs: ArrayLike<number>[];
    if (W > 1) seqs = (await dec.beam({ regionFeats, visPe }, { width: W })).hypotheses.map((h) => h.tokens);
    else {
      const r = await dec.greedy({ regionFeats, visPe });
      seqs = Array.from({ length: n }, (_, j) => r.ids.subarray(j * T, (j + 1) * T));
    }
    batch.forEach((b, j) => {
      const caption = captionText(seqs[j]!, vocab);
      results.push({ image: b.source, caption });
      console.log(`${b.source}\t${caption}`);
    });
    batch = [];
  };
  const sources = await listImages(images);
  for (const [i, source] of sources.entries()) {
    try {
      const r = await detector.detect(await readImage(join(images, source)));
      if (r.count < R) throw new RangeError(`the detector found no region`);
      const cls = viaFloat16(r.cls), feats = viaFloat16(r.feat);
      // what extract-features would not write (e.g. a 1×1 image: every box at 0) is skipped here too
      const problems = checkImageRegions(source, {
        feats: { dtype: "float32", shape: [R, F], data: feats },
        cls: { dtype: "float32", shape: [R, G - 6], data: cls },
        bbox: { dtype: "float32", shape: [R, 6], data: r.bbox },
      }, { R, F, K: G - 6 });
      if (problems.length) throw new RangeError(problems[0]!.message);
      batch.push({ source, feats, visPe: regionVector(r.bbox, cls, R) });
      console.error(`caption: [${i + 1}/${sources.length}] ${source}`);
    } catch (e) {
      skipped.push(source);
      console.error(`caption: skipped "${source}": ${(e as Error).message}`);
      continue;
    }
    if (batch.length === B) await run();
  }
  await run();
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({
    images: sources.length,
    captioned: results.length,
    skipped: skipped.length,
    beam_size: W,
    results,
    seconds: Number(seconds.toFixed(3)),
  }));
  return results.length === 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(startCommand(CMD)));
