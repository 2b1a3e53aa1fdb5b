/**
 * @vlp/eval: COCO caption metrics exactly as coco-caption computes them (PTB tokenization, BLEU-1..4,
 * METEOR 1.5, ROUGE-L, CIDEr-D; SPICE reported unavailable) and VQA accuracy exactly as the official
 * evaluation, in plain TypeScript.
 *
 * ```ts
 * import { loadMeteorResources, scoreCaptions } from "@vlp/eval";
 * const meteor = await loadMeteorResources("../shared/data/meteor");
 * const { metrics, perImage, unavailable } = scoreCaptions({ "1": ["A dog runs."] }, [
 *   { image_id: 1, caption: "a dog running" },
 * ], { meteor });
 * ```
 *
 * @module
 */
export { scoreCaptions, SPICE_UNAVAILABLE } from "./captions.ts";
export type { CaptionScoreOptions, CaptionScores } from "./captions.ts";
export {
  type CaptionResult,
  type ImageId,
  parseJson,
  parseReferences,
  parseResults,
  parseVqaAnnotations,
  parseVqaResults,
} from "./inputs.ts";
export { COCO_PUNCTUATIONS, type PtbOptions, ptbTokenize, ptbTokenizeText } from "./ptb/ptb_tokenizer.ts";
export {
  bleu,
  type BleuCounts,
  bleuCounts,
  bleuFromCounts,
  bleuReference,
  type BleuResult,
} from "./metrics/bleu.ts";
export { lcsLength, rouge, rougeL } from "./metrics/rouge.ts";
export { CiderD, ciderD, type CiderDf, ciderDf, type CiderOptions } from "./metrics/cider.ts";
export { npMean, pyRound } from "./metrics/py_compat.ts";
export { cookCorpus, type CookedCorpus } from "./metrics/ngram_ids.ts";
export {
  Meteor,
  METEOR_MAX_CANDIDATES,
  type MeteorResult,
  meteorScore,
  type MeteorStats,
} from "./meteor/meteor.ts";
export { MeteorWorkLimitError } from "./meteor/stage.ts";
export {
  loadMeteorResources,
  type MeteorResources,
  ParaphraseTable,
  SynonymDictionary,
} from "./meteor/resources.ts";
export { snowballEnglish } from "./meteor/snowball_english.ts";
export {
  questionAccuracy,
  type VqaAccuracy,
  vqaAccuracy,
  type VqaQuestion,
  type VqaResult,
} from "./vqa/accuracy.ts";
export { processDigitArticle, processPunctuation } from "./vqa/normalize.ts";
