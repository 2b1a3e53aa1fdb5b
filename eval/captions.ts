/**
 * The whole caption evaluation of coco-caption (`COCOEvalCap.evaluate`): PTB tokenization of the
 * references and of the results (each batch tokenized as one stream, images in reference order), then
 * BLEU-1..4, METEOR, ROUGE-L and CIDEr-D per image and for the corpus. SPICE is reported unavailable.
 *
 * @module
 */
import type { CaptionResult, ImageId } from "./inputs.ts";
import { bleu, type BleuCounts } from "./metrics/bleu.ts";
import { ciderD } from "./metrics/cider.ts";
import { cookCorpus } from "./metrics/ngram_ids.ts";
import { rouge } from "./metrics/rouge.ts";
import { Meteor } from "./meteor/meteor.ts";
import type { MeteorResources } from "./meteor/resources.ts";
import { MeteorWorkLimitError } from "./meteor/stage.ts";
import { ptbTokenize } from "./ptb/ptb_tokenizer.ts";

/** Why SPICE is never computed here. */
export const SPICE_UNAVAILABLE =
  "SPICE needs the Stanford CoreNLP 3.6.0 dependency parser and scene-graph parser (Java); no TypeScript port exists here, so no value is given";

/** Options of {@linkcode scoreCaptions}. */
export interface CaptionScoreOptions {
  /** Meteor tables; without them METEOR is reported unavailable. With a paraphrase table: official METEOR. */
  meteor?: MeteorResources;
  /** Why the Meteor tables are missing (used in `unavailable`). */
  meteorMissingReason?: string;
  /** Score only the images that have a result (coco-caption's behaviour); by default a missing result is an error. */
  allowMissing?: boolean;
  /** Inputs are already PTB-tokenized (space-separated, lowercased): skip tokenization. */
  pretokenized?: boolean;
  /** Progress messages (e.g. to stderr). */
  log?: (msg: string) => void;
  /** The files `refs` and `results` came from, named in error messages. */
  files?: { refs?: string; results?: string };
}

/** Result of {@linkcode scoreCaptions}. */
export interface CaptionScores {
  /** Bleu_1..4, METEOR or METEOR_noparaphrase (when computed), ROUGE_L, CIDEr. */
  metrics: Record<string, number>;
  /** Per image, the same metrics; images in evaluation order. */
  perImage: Map<ImageId, Record<string, number>>;
  /** Metric name -> why it has no value. */
  unavailable: Record<string, string>;
  /** BLEU's summed integer counts. */
  bleuCounts: BleuCounts;
  /** Tokenized text that was scored. */
  tokenized: Map<ImageId, { refs: string[]; candidate: string }>;
}

/**
 * Scores caption results against references exactly as coco-caption does. `refs` maps image id ->
 * reference captions (iteration order = evaluation order); `results` holds one caption per image.
 */
export function scoreCaptions(
  refs: ReadonlyMap<ImageId | number, readonly string[]> | Readonly<Record<ImageId, readonly string[]>>,
  results: readonly CaptionResult[],
  opts: CaptionScoreOptions = {},
): CaptionScores {
  const refMap = new Map<ImageId, readonly string[]>(
    refs instanceof Map ? [...refs].map(([k, v]) => [String(k), v]) : Object.entries(refs),
  );
  const resultsName = opts.files?.results !== undefined ? `"${opts.files.results}"` : "the caption results";
  const refsName = opts.files?.refs !== undefined ? `"${opts.files.refs}"` : "the references";
  const fail = (why: string) => new RangeError(`Cannot score ${resultsName} against ${refsName}: ${why}`);
  const candidates = new Map<ImageId, string>();
  const dup: string[] = [], extra: string[] = [];
  for (const r of results) {
    const id = String(r.image_id);
    if (candidates.has(id)) dup.push(id);
    if (!refMap.has(id)) extra.push(id);
    candidates.set(id, r.caption);
  }
  const show = (ids: string[]) =>
    ids.slice(0, 10).join(", ") + (ids.length > 10 ? `, ... (${ids.length} in all)` : "");
  if (dup.length > 0) throw fail(`more than one caption for image ids ${show(dup)}`);
  if (extra.length === results.length) {
    throw fail(`none of the result image ids (${show(extra)}) has references; results of another split?`);
  }
  if (extra.length > 0) throw fail(`image ids ${show(extra)} have no references`);
  const missing = [...refMap.keys()].filter((id) => !candidates.has(id));
  if (missing.length > 0 && !opts.allowMissing) {
    throw fail(
      `no caption for ${missing.length} of ${refMap.size} reference images (${show(missing)}); ` +
        "pass allowMissing (CLI: --subset) to score only the images with results",
    );
  }
  const ids = [...refMap.keys()].filter((id) => candidates.has(id));
  if (ids.length === 0) throw fail("nothing to score (no results, or no references)");

  // Tokenize all references as one batch and all candidates as another, as coco-caption does.
  const log = opts.log ?? (() => {});
  const flatRefs = ids.flatMap((id) => refMap.get(id)!);
  const cands = ids.map((id) => candidates.get(id)!);
  log(`tokenizing ${flatRefs.length} references and ${cands.length} results`);
  const tokRefs = opts.pretokenized ? flatRefs : ptbTokenize(flatRefs);
  const tokCands = opts.pretokenized ? cands : ptbTokenize(cands);
  const refsPerImage: string[][] = [];
  let k = 0;
  for (const id of ids) {
    const n = refMap.get(id)!.length;
    refsPerImage.push(tokRefs.slice(k, k + n));
    k += n;
  }

  log("BLEU");
  const cooked = cookCorpus(tokCands, refsPerImage);
  const b = bleu(tokCands, refsPerImage, cooked);
  const metrics: Record<string, number> = {};
  b.score.forEach((s, n) => (metrics[`Bleu_${n + 1}`] = s));
  const unavailable: Record<string, string> = {};
  let meteor: { name: string; perImage: number[] } | null = null;
  if (opts.meteor) {
    log("METEOR");
    let m;
    try {
      m = new Meteor(opts.meteor).score(tokCands, refsPerImage, ids.map((id) => `image ${id}`));
    } catch (e) {
      if (e instanceof MeteorWorkLimitError) throw fail(e.message);
      throw e;
    }
    metrics[m.name] = m.score;
    meteor = m;
    if (m.name !== "METEOR") {
      unavailable.METEOR =
        "official METEOR needs Meteor 1.5's paraphrase table paraphrase-en.gz (--meteor-paraphrase FILE); METEOR_noparaphrase (exact, stem, synonym) is reported instead";
    }
  } else {
    unavailable.METEOR = opts.meteorMissingReason ?? "no Meteor tables given";
  }
  log("ROUGE-L");
  const r = rouge(tokCands, refsPerImage);
  metrics.ROUGE_L = r.score;
  log("CIDEr-D");
  const c = ciderD(tokCands, refsPerImage, { cooked });
  metrics.CIDEr = c.score;
  unavailable.SPICE = SPICE_UNAVAILABLE;

  const perImage = new Map<ImageId, Record<string, number>>();
  const tokenized = new Map<ImageId, { refs: string[]; candidate: string }>();
  ids.forEach((id, i) => {
    const row: Record<string, number> = {};
    b.perImage[i].forEach((s, n) => (row[`Bleu_${n + 1}`] = s));
    if (meteor) row[meteor.name] = meteor.perImage[i];
    row.ROUGE_L = r.perImage[i];
    row.CIDEr = c.perImage[i];
    perImage.set(id, row);
    tokenized.set(id, { refs: refsPerImage[i], candidate: tokCands[i] });
  });
  return { metrics, perImage, unavailable, bleuCounts: b.counts, tokenized };
}
