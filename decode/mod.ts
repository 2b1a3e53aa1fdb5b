/**
 * @vlp/decode: VLP's caption decoding exactly as the original (greedy, multinomial sampling, beam search
 * with its exact semantics), on `@vlp/model`'s incremental forward with a key/value cache, batched beams and
 * an early stop that does not change results; the COCO results file; and the `deno task decode` CLI.
 *
 * ```ts ignore
 * import { CaptionDecoder, captionText } from "@vlp/decode";
 * const dec = new CaptionDecoder(model, { maxImages: 8, maxWidth: 5 });
 * const { hypotheses } = await dec.beam({ regionFeats, visPe }, { width: 5 });
 * console.log(hypotheses.map((h) => captionText(h.tokens, vocab)));
 * ```
 *
 * See decode/README.md for the semantics, the CLI and the benchmark.
 *
 * @module
 */
export {
  type DecodeLayout,
  decodeLayout,
  type LayoutOptions,
  PROMPT_SEGMENT,
  SPECIAL_IDS,
  type SpecialIds,
  TEXT_SEGMENT,
} from "./layout.ts";
export {
  argmaxRow,
  type FloatRows,
  logProbAt,
  logSoftmaxRow,
  logSumExpRow,
  sampleRow,
  topK,
} from "./scores.ts";
export { duplicateNgramCandidates } from "./ngram.ts";
export { type BeamHypothesis, type BeamOptions, BeamSearch, type BeamStep } from "./beam.ts";
export { ModelScorer, type StepScorer, type TopRows } from "./scorer.ts";
export {
  type BeamResult,
  beamSearch,
  type BeamSearchOptions,
  type GreedyOptions,
  greedySearch,
  padSequences,
  type SampleOptions,
  sampleSearch,
  type SequentialOptions,
  type SequentialResult,
  truncateAtEnd,
} from "./search.ts";
export {
  CaptionDecoder,
  type CaptionDecoderOptions,
  type DropoutOption,
  type EngineSource,
  type ImageBatch,
} from "./caption_decoder.ts";
export {
  CAPTION_END_TOKENS,
  type CaptionResult,
  captionText,
  captionTexts,
  writeCaptionResults,
} from "./captions.ts";
export { formatDuration, Progress } from "./progress.ts";
export {
  assertRegionsSound,
  findRegionProblems,
  type RegionCheckOptions,
  regionFiles,
  type RegionImage,
} from "./preflight.ts";
