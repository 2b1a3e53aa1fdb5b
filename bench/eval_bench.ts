/**
 * Caption evaluation speed on real data: the 25,014 COCO val2017 captions of
 * `../shared/data/coco_captions_val2017.json`, for each of the 5000 images the first caption as the
 * candidate and the others as references. Times (median of `--runs`, after one warm-up run):
 *   - `core_s`: PTB tokenization of all captions + BLEU-1..4 + ROUGE-L + CIDEr-D, the part the anchor
 *     measures (coco-caption's Python + Java tokenizer: 25.3 s on this machine type);
 *   - `meteor_s`: METEOR_noparaphrase on the tokenized text (tables loaded beforehand, `meteor_load_s`).
 * Ends with one JSON line of the figures on stdout.
 *
 * `deno run -A bench/eval_bench.ts [--runs N] [--record]`
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import { fixturePath } from "@vlp/testing";
import { bleu, ciderD, cookCorpus, loadMeteorResources, Meteor, ptbTokenize, rouge } from "@vlp/eval";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

/** coco-caption (Python 2.7 scorers + Stanford PTBTokenizer) on the same task, seconds. */
const ANCHOR_PYTHON_S = 25.3;

const Flags = z.object({ runs: integer(1).default(3), ...recordFlag });
const CMD: Command<z.infer<typeof Flags>> = {
  name: "eval_bench",
  usage: `Usage: deno run -A bench/eval_bench.ts [--runs N] [--record]
  --runs N  timed runs after one warm-up (default 3; the median is reported)
${RECORD_USAGE}`,
  flags: Flags,
};
const { runs, record } = startCommand(CMD);

const data = JSON.parse(Deno.readTextFileSync(fixturePath("data/coco_captions_val2017.json")));
const byImage = new Map<number, string[]>();
for (const a of data.annotations as { image_id: number; caption: string }[]) {
  if (!byImage.has(a.image_id)) byImage.set(a.image_id, []);
  byImage.get(a.image_id)!.push(a.caption);
}
const ids = [...byImage.keys()];
const candidates = ids.map((id) => byImage.get(id)![0]);
const references = ids.map((id) => byImage.get(id)!.slice(1));
const nCaptions = ids.reduce((s, id) => s + byImage.get(id)!.length, 0);
console.error(`${ids.length} images, ${nCaptions} captions`);

/** Tokenization + BLEU + ROUGE-L + CIDEr-D, as coco-caption's evaluation minus METEOR and SPICE. */
function core() {
  const flat = ptbTokenize(references.flat());
  const tokCands = ptbTokenize(candidates);
  const tokRefs: string[][] = [];
  let k = 0;
  for (const r of references) {
    tokRefs.push(flat.slice(k, k + r.length));
    k += r.length;
  }
  const cooked = cookCorpus(tokCands, tokRefs); // n-gram ids shared by BLEU and CIDEr-D
  const b = bleu(tokCands, tokRefs, cooked),
    r = rouge(tokCands, tokRefs),
    c = ciderD(tokCands, tokRefs, { cooked });
  return { tokCands, tokRefs, bleu4: b.score[3], rougeL: r.score, cider: c.score };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let result = core(); // warm-up (also builds the tokenizer's DFA lazily)
const coreTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  result = core();
  coreTimes.push((performance.now() - t0) / 1000);
  console.error(`core run ${i + 1}: ${coreTimes[i].toFixed(3)} s`);
}

let t0 = performance.now();
const res = await loadMeteorResources(fixturePath("data/meteor"));
const meteorLoad = (performance.now() - t0) / 1000;
const meteorTimes: number[] = [];
let meteorScore = 0;
for (let i = 0; i < runs; i++) {
  t0 = performance.now();
  meteorScore = new Meteor(res).score(result.tokCands, result.tokRefs).score;
  meteorTimes.push((performance.now() - t0) / 1000);
  console.error(`METEOR run ${i + 1}: ${meteorTimes[i].toFixed(3)} s`);
}

const coreS = median(coreTimes);
await reportFigures(import.meta.url, {
  bench: "eval_captions_coco_val2017",
  images: ids.length,
  captions: nCaptions,
  runs,
  core_s: Number(coreS.toFixed(4)),
  anchor_python_s: ANCHOR_PYTHON_S,
  speedup_vs_python: Number((ANCHOR_PYTHON_S / coreS).toFixed(1)),
  meteor_s: Number(median(meteorTimes).toFixed(4)),
  meteor_load_s: Number(meteorLoad.toFixed(4)),
  Bleu_4: result.bleu4,
  ROUGE_L: result.rougeL,
  CIDEr: result.cider,
  METEOR_noparaphrase: meteorScore,
}, record);
