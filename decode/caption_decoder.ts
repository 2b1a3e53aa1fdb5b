/**
 * Captioning with a model: VLP's decoding layout ({@linkcode decodeLayout}) plus `@vlp/model`'s
 * `IncrementalDecoder` (key/value cache, batched beams), driven by the search loops of `search.ts`.
 * One {@linkcode CaptionDecoder} holds the cache buffers for up to `maxImages` images × `maxWidth` beams and
 * is reused batch after batch.
 *
 * @example Usage
 * ```ts ignore
 * import { CaptionDecoder } from "@vlp/decode";
 * const dec = new CaptionDecoder(model, { maxImages: 8, maxWidth: 5 });
 * const greedy = await dec.greedy({ regionFeats, visPe }); // ids [B, 20], scores [B, 20]
 * const beam = await dec.beam({ regionFeats, visPe }, { width: 5 }); // hypotheses per image
 * const sampled = await dec.sample({ regionFeats, visPe }, { rng, dropoutRng }); // SCST: train mode
 * ```
 *
 * @module
 */
import {
  type DecodingEngine,
  IncrementalDecoder,
  MAX_TGT_LENGTH,
  type Numbers,
  type Rng,
  type VlpConfig,
  type VlpModel,
} from "@vlp/model";
import { type DecodeLayout, decodeLayout, SPECIAL_IDS, type SpecialIds } from "./layout.ts";
import { ModelScorer } from "./scorer.ts";
import {
  type BeamResult,
  beamSearch,
  type BeamSearchOptions,
  type GreedyOptions,
  greedySearch,
  type SampleOptions,
  sampleSearch,
  type SequentialResult,
} from "./search.ts";

/** Options of the {@linkcode CaptionDecoder} constructor. */
export interface CaptionDecoderOptions {
  /** Most images per call (B; the CLI's `--batch_size`). */
  maxImages: number;
  /** Most beams per image (W; the beam size; default 1). */
  maxWidth?: number;
  /** T, generated positions (`--max_tgt_length`, default 20; SCST decodes 21). */
  maxTgtLength?: number;
  /** Special-token ids (default VLP's). */
  ids?: Partial<SpecialIds>;
}

/**
 * A decoding engine other than the model's own `IncrementalDecoder` (e.g. `OnnxDecoder` of `@vlp/onnx`),
 * made for maxImages × maxWidth sequences of the layout's length R + 2 + maxTgtLength, and the configuration
 * of the model it runs.
 */
export interface EngineSource {
  config: VlpConfig;
  engine: DecodingEngine;
}

/** Region inputs of B images, and optional layout overrides (SCST passes its training example's mask). */
export interface ImageBatch {
  /** [B, R, F] */
  regionFeats: Numbers;
  /** [B, R, G] */
  visPe: Numbers;
  /** [B, L, L] 0/1 mask (default: the decoder-time mask), L = R + 2 + T */
  attentionMask?: Numbers;
  /** [B, L] segment ids (default 4 for the prompt, 5 after) */
  segmentIds?: Numbers;
}

/** Train-mode option of a decode: dropout on, seeds from this generator (VLP samples for SCST this way). */
export interface DropoutOption {
  dropoutRng?: Rng;
}

/** Decodes captions of batches of images with one model (see the module doc). */
export class CaptionDecoder {
  readonly config: VlpConfig;
  readonly ids: Readonly<SpecialIds>;
  /** the layout of maxImages images */
  readonly layout: DecodeLayout;
  /** the engine doing the compute: the model's IncrementalDecoder, or the one given */
  readonly incremental: DecodingEngine;

  constructor(model: VlpModel | EngineSource, opts: CaptionDecoderOptions) {
    const R = model.config.regions, T = opts.maxTgtLength ?? MAX_TGT_LENGTH;
    this.config = model.config;
    this.ids = { ...SPECIAL_IDS, ...opts.ids };
    this.layout = decodeLayout({ images: opts.maxImages, regions: R, maxTgtLength: T, ids: this.ids });
    const maxWidth = opts.maxWidth ?? 1;
    if ("engine" in model) {
      const e = model.engine;
      if (e.maxImages < opts.maxImages || e.maxWidth < maxWidth || e.maxLength !== this.layout.length) {
        throw new RangeError(
          `Cannot decode on the given engine: it holds ${e.maxImages} × ${e.maxWidth} sequences of length ${e.maxLength}, ` +
            `expected ${opts.maxImages} × ${maxWidth} of length ${this.layout.length}`,
        );
      }
      this.incremental = e;
    } else {
      this.incremental = new IncrementalDecoder(model, {
        maxImages: opts.maxImages,
        maxWidth,
        maxLength: this.layout.length,
      });
    }
  }

  /** Most images per call. */
  get maxImages(): number {
    return this.incremental.maxImages;
  }

  /** A model scorer for B ≤ maxImages images (the search loops' view of the model). */
  scorer(images: ImageBatch, opts: DropoutOption = {}): ModelScorer {
    const { regions: R, regionFeatureSize: F } = this.config;
    const B = images.regionFeats.length / (R * F);
    if (!Number.isInteger(B) || B < 1 || B > this.maxImages) {
      throw new RangeError(
        `Cannot decode: regionFeats has ${images.regionFeats.length} values, expected B·R·F with B in 1..${this.maxImages} (R·F = ${
          R * F
        })`,
      );
    }
    const A = this.layout.promptLength, L = this.layout.length;
    return new ModelScorer(this.incremental, {
      regionFeats: images.regionFeats,
      visPe: images.visPe,
      inputIds: this.layout.inputIds.subarray(0, B * A),
      segmentIds: images.segmentIds ?? this.layout.segmentIds.subarray(0, B * L),
      attentionMask: images.attentionMask,
      maskId: this.ids.mask,
      dropoutRng: opts.dropoutRng,
    });
  }

  /** Greedy decoding: ids and max logits [B, T] as VLP returns them. */
  async greedy(images: ImageBatch, opts: GreedyOptions & DropoutOption = {}): Promise<SequentialResult> {
    return await greedySearch(this.scorer(images, opts), {
      eosId: this.ids.sep,
      padId: this.ids.pad,
      ...opts,
    });
  }

  /** Multinomial sampling (`rng` draws the words; `dropoutRng` turns train mode on): ids and log-probs. */
  async sample(images: ImageBatch, opts: SampleOptions & DropoutOption): Promise<SequentialResult> {
    return await sampleSearch(this.scorer(images, opts), {
      eosId: this.ids.sep,
      padId: this.ids.pad,
      ...opts,
    });
  }

  /** VLP's beam search (width ≤ maxWidth). */
  async beam(images: ImageBatch, opts: BeamSearchOptions & DropoutOption): Promise<BeamResult> {
    if (opts.width > this.incremental.maxWidth) {
      throw new RangeError(
        `Cannot decode: beam size ${opts.width} exceeds this decoder's maxWidth ${this.incremental.maxWidth}`,
      );
    }
    return await beamSearch(this.scorer(images, opts), { eosId: this.ids.sep, ...opts });
  }
}
