/**
 * Builds one training batch from a request (which examples, and one RNG seed per example): reads each
 * image's regions (`@vlp/features` RegionReader: features as float32, the 1607-d region vector), draws the
 * example's attention mode (seq2seq with probability `s2sProb`, else bidirectional: the original's
 * `random.choices` per example and access), runs the example pipeline and collates everything into the
 * host arrays of a `@vlp/model` Batch.
 *
 * A batch depends only on the request, never on which thread built it or what was built before, so the
 * loader can build batches ahead of time in Workers and a resumed run sees exactly the batches of an
 * uninterrupted one.
 *
 * @module
 */
import { AnswerVocab, RegionReader, type RegionReaderOptions, vqaSoftScores } from "@vlp/features";
import { Rng } from "@vlp/model";
import { type ExampleSet, exampleTokens } from "./examples.ts";
import { type MaskMode, type PipelineOptions, preprocess, sequenceLength } from "./pipeline.ts";

/** What a builder needs (structured-cloneable, so that it can be sent to a Worker). */
export interface BuilderConfig {
  examples: ExampleSet;
  /** where and how the region features are stored */
  regions: RegionReaderOptions;
  pipeline: PipelineOptions;
  /** probability of the seq2seq mask (`--s2s_prob`; the bidirectional one gets the rest) */
  s2sProb: number;
  /** vqa2: the answer vocabulary (line 0 `<unk>`), for the soft-score targets */
  answerWords?: string[];
}

/** Which examples form a batch, and the seed of each example's RNG. */
export interface BatchRequest {
  /** position of the batch in its epoch */
  index: number;
  /** [B] example indices */
  examples: Int32Array;
  /** [B] per-example RNG seeds */
  seeds: Uint32Array;
}

/** A built batch: the model inputs as typed arrays plus where they came from. */
export interface HostBatch {
  index: number;
  /** [B] example indices */
  examples: Int32Array;
  /** [B] 1 = seq2seq, 0 = bidirectional */
  s2s: Uint8Array;
  /** [B, R, F] */
  regionFeats: Float32Array;
  /** [B, R, G] */
  visPe: Float32Array;
  /** [B, L] */
  inputIds: Int32Array;
  /** [B, L] */
  segmentIds: Int32Array;
  /** [B, L, L] 0/1 */
  attentionMask: Uint8Array;
  /** [B, P] (absent when P = 0 or for VQA, whose masked-LM loss is discarded) */
  maskedPos?: Int32Array;
  maskedIds?: Int32Array;
  maskedWeights?: Float32Array;
  /** [B, A] VQA soft scores */
  answerTargets?: Float32Array;
}

/** The typed arrays of a batch (for transferring it between threads). */
export function batchBuffers(b: HostBatch): ArrayBuffer[] {
  const arrays = [
    b.examples,
    b.s2s,
    b.regionFeats,
    b.visPe,
    b.inputIds,
    b.segmentIds,
    b.attentionMask,
    b.maskedPos,
    b.maskedIds,
    b.maskedWeights,
    b.answerTargets,
  ];
  return [...new Set(arrays.filter((a) => a !== undefined).map((a) => a!.buffer as ArrayBuffer))];
}

/** Builds batches for one configuration (see the module doc). */
export class BatchBuilder {
  readonly config: BuilderConfig;
  readonly #reader: RegionReader;
  readonly #vocab: AnswerVocab | null;

  constructor(config: BuilderConfig) {
    this.config = config;
    this.#reader = RegionReader.open(config.regions);
    this.#vocab = config.answerWords ? new AnswerVocab(config.answerWords) : null;
    if (config.examples.task === "vqa2" && !this.#vocab) {
      throw new TypeError("Cannot build VQA batches: no answer vocabulary was given");
    }
  }

  /** Build the batch of a request. */
  async build(req: BatchRequest): Promise<HostBatch> {
    const { examples: set, pipeline: po } = this.config;
    const B = req.examples.length, L = sequenceLength(po), P = po.maxPred, R = po.R;
    const vqa = set.task === "vqa2";
    const withMasked = P > 0 && !vqa;
    const dims = this.#reader.dims, G = 6 + dims.K, F = dims.F;
    if (dims.R !== R) {
      throw new RangeError(`Cannot build batches: the features have ${dims.R} regions, the pipeline ${R}`);
    }
    const out: HostBatch = {
      index: req.index,
      examples: Int32Array.from(req.examples),
      s2s: new Uint8Array(B),
      regionFeats: new Float32Array(B * R * F),
      visPe: new Float32Array(B * R * G),
      inputIds: new Int32Array(B * L),
      segmentIds: new Int32Array(B * L),
      attentionMask: new Uint8Array(B * L * L),
      ...(withMasked
        ? {
          maskedPos: new Int32Array(B * P),
          maskedIds: new Int32Array(B * P),
          maskedWeights: new Float32Array(B * P),
        }
        : {}),
      ...(vqa ? { answerTargets: new Float32Array(B * this.#vocab!.size) } : {}),
    };
    for (let b = 0; b < B; b++) {
      const ex = req.examples[b];
      if (!(ex >= 0 && ex < set.exampleImage.length)) {
        throw new RangeError(`Cannot build batch ${req.index}: example ${ex} does not exist`);
      }
      const image = set.exampleImage[ex];
      const { feats, visPe } = await this.#reader.load(set.imageIds[image], set.imageDirs[image]);
      out.regionFeats.set(feats, b * R * F);
      out.visPe.set(visPe, b * R * G);
      const rng = new Rng(req.seeds[b]);
      const mode: MaskMode = rng.float() < this.config.s2sProb ? "s2s" : "bi";
      const p = preprocess(exampleTokens(set, ex), mode, rng, po);
      out.s2s[b] = mode === "s2s" ? 1 : 0;
      out.inputIds.set(p.inputIds, b * L);
      out.segmentIds.set(p.segmentIds, b * L);
      out.attentionMask.set(p.attentionMask, b * L * L);
      if (withMasked) {
        out.maskedPos!.set(p.maskedPos, b * P);
        out.maskedIds!.set(p.maskedIds, b * P);
        out.maskedWeights!.set(p.maskedWeights, b * P);
      }
      if (vqa) out.answerTargets!.set(vqaSoftScores(set.answers![ex], this.#vocab!), b * this.#vocab!.size);
    }
    return out;
  }

  /** Close the feature files. */
  close(): void {
    this.#reader.close();
  }
}
