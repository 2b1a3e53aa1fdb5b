/**
 * Decoding parity with the ORIGINAL VLP decoder on a reference fixture directory (the format of
 * `../shared/fixtures/vlp-tiny/`): for every entry `X` of the manifest's `values.decode_settings` that has
 * an array `decode_X_ids`, decode the fixture's images with those settings and compare.
 *
 * Checks (tolerances of fixtures/README.md):
 * - `decode_input_ids`, `decode_segment_ids`, `decode_position_ids`, `decode_attention_mask`: our layout,
 *   exactly equal;
 * - `decode_X_ids`: exactly equal (greedy: [B, T] as VLP returns them, all T steps; beam: the chosen
 *   sequence zero-padded to the output length, as VLP's `pred_seq`); beam search runs with the early stop;
 * - `decode_greedy_scores` (the max logit per step): |a − e| ≤ 1e-4.
 *
 * @module
 */
import { join } from "node:path";
import { type Backend, createModel, type DecodingEngine } from "@vlp/model";
import {
  checkList,
  compare,
  fixtureArrays,
  fixtureConfig,
  type ParityCheck,
  readManifest,
  TOLERANCES,
} from "@vlp/model/parity";
import { CaptionDecoder } from "./caption_decoder.ts";
import { decodeLayout } from "./layout.ts";
import { padSequences } from "./search.ts";

/** One entry of the manifest's `values.decode_settings` (the original's decoder arguments). */
export interface FixtureDecodeSettings {
  beam_size: number;
  length_penalty?: number;
  forbid_duplicate_ngrams?: boolean;
  forbid_ignore_word?: string | null;
  ngram_size?: number;
  min_len?: number | null;
  mask_word_id?: number;
  eos_id?: number;
}

/** Options of {@linkcode decodeParityChecks}. */
export interface DecodeParityOptions {
  /** progress lines (default: none) */
  log?: (line: string) => void;
}

const EXACT = TOLERANCES.exact;
const SCORES = TOLERANCES.forward; // |a − e| ≤ 1e-4

/** Makes a decoding engine other than our own for the searches (e.g. ONNX Runtime's `OnnxDecoder`). */
export type EngineFactory = (
  sizes: { maxImages: number; maxWidth: number; maxLength: number },
) => Promise<DecodingEngine>;

/**
 * Run every decoding check the fixture supports on a backend, or on the engine a factory makes for the
 * fixture's checkpoint (see the module doc).
 */
export async function decodeParityChecks(
  fixtureDir: string,
  backend: Backend | EngineFactory,
  opts: DecodeParityOptions = {},
): Promise<ParityCheck[]> {
  const log = opts.log ?? (() => {});
  const m = await readManifest(fixtureDir);
  const settings = (m.values["decode_settings"] ?? {}) as Record<string, FixtureDecodeSettings>;
  const { has, f32, i32 } = fixtureArrays(fixtureDir, m);
  const { checks, add } = checkList(log);
  const runs = Object.keys(settings).filter((k) => has(`decode_${k}_ids`));
  if (!has("decode_input_ids") || runs.length === 0) return checks;

  const config = fixtureConfig(m);
  const R = config.regions, A = R + 2;
  const inputIds = await i32("decode_input_ids");
  const segmentIds = await i32("decode_segment_ids");
  const B = inputIds.length / A, L = segmentIds.length / B, T = L - A;

  // ---- layout -------------------------------------------------------------------------------------------
  const lay = decodeLayout({ images: B, regions: R, maxTgtLength: T });
  add(compare("decode_input_ids", lay.inputIds, inputIds, EXACT));
  add(compare("decode_segment_ids", lay.segmentIds, segmentIds, EXACT));
  if (has("decode_position_ids")) {
    add(compare("decode_position_ids", lay.positionIds, await i32("decode_position_ids"), EXACT));
  }
  if (has("decode_attention_mask")) {
    add(compare("decode_attention_mask", lay.attentionMask, await i32("decode_attention_mask"), EXACT));
  }

  // ---- searches -----------------------------------------------------------------------------------------
  const maxWidth = Math.max(...runs.map((k) => settings[k].beam_size));
  const s0 = settings[runs[0]];
  const ids = { mask: s0.mask_word_id ?? 103, sep: s0.eos_id ?? 102 };
  for (const k of runs) {
    const s = settings[k];
    if ((s.mask_word_id ?? 103) !== ids.mask || (s.eos_id ?? 102) !== ids.sep) {
      throw new RangeError(`Cannot check decode settings "${k}": mask/eos ids differ from "${runs[0]}"`);
    }
    if (s.forbid_ignore_word) {
      throw new RangeError(`Cannot check decode settings "${k}": forbid_ignore_word needs a vocabulary`);
    }
  }
  log(
    typeof backend === "function"
      ? "searches on the given engine"
      : `loading ${join(fixtureDir, "model.bin")}`,
  );
  const source = typeof backend === "function"
    ? { config, engine: await backend({ maxImages: B, maxWidth, maxLength: L }) }
    : await createModel({ config, backend, checkpoint: join(fixtureDir, "model.bin") });
  const dec = new CaptionDecoder(source, { maxImages: B, maxWidth, maxTgtLength: T, ids });
  const images = {
    regionFeats: (await f32("region_feats")).subarray(0, B * R * config.regionFeatureSize),
    visPe: (await f32("vis_pe")).subarray(0, B * R * config.regionGeometrySize),
  };
  for (const name of runs) {
    const s = settings[name];
    const expected = await i32(`decode_${name}_ids`);
    log(`decode ${name} (beam size ${s.beam_size})`);
    if (s.beam_size <= 1) {
      const r = await dec.greedy(images, { stopEarly: false });
      add(compare(`decode_${name}_ids`, r.ids, expected, EXACT));
      if (has(`decode_${name}_scores`)) {
        add(compare(`decode_${name}_scores`, r.scores, await f32(`decode_${name}_scores`), SCORES));
      }
    } else {
      const r = await dec.beam(images, {
        width: s.beam_size,
        lengthPenalty: s.length_penalty ?? 0,
        minLen: s.min_len ?? null,
        forbidDuplicateNgrams: s.forbid_duplicate_ngrams ?? false,
        ngramSize: s.ngram_size ?? 3,
        forbidIgnoreIds: [], // the fixture's forbid_ignore_word is None
      });
      const width = expected.length / B;
      add(
        compare(
          `decode_${name}_ids`,
          padSequences(r.hypotheses.map((h) => h.tokens), width),
          expected,
          EXACT,
        ),
      );
    }
  }
  return checks;
}
