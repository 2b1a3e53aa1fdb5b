/**
 * Model configuration: a zod schema with VLP's values as defaults, the BERT-base and tiny presets, and the
 * conversion from a BERT `bert_config.json` plus VLP's overrides (6 segment types, LayerNorm eps 1e-5).
 *
 * Dimension letters (ARCHITECTURE.md): C = hiddenSize, NL = numLayers, NH = numHeads, HS = C / NH,
 * I = intermediateSize, V = vocabSize, R = regions, F = regionFeatureSize, G = regionGeometrySize,
 * A = numAnswers.
 *
 * @example Usage
 * ```ts
 * import { bertBaseConfig, configFromBertJson, dims } from "@vlp/model";
 * import assert from "node:assert/strict";
 * assert.equal(dims(bertBaseConfig).HS, 64);
 * const c = configFromBertJson({ vocab_size: 28996, hidden_size: 768, num_hidden_layers: 12,
 *   num_attention_heads: 12, intermediate_size: 3072, type_vocab_size: 2 });
 * assert.equal(c.typeVocabSize, 6);
 * assert.equal(c.layerNormEps, 1e-5);
 * ```
 *
 * @module
 */
import { z } from "zod";
import { LEN_VIS_INPUT } from "./defaults.ts";

const posInt: z.ZodNumber = z.number().int().positive();
const prob: z.ZodNumber = z.number().min(0).lt(1);

/** A validated model configuration (every field has VLP's BERT-base value as default). */
export interface VlpConfig {
  /** V: vocabulary size (bert-base-cased: 28996). */
  readonly vocabSize: number;
  /** C: hidden size. */
  readonly hiddenSize: number;
  /** NL: transformer layers. */
  readonly numLayers: number;
  /** NH: attention heads (C must be a multiple). */
  readonly numHeads: number;
  /** I: FFN intermediate size. */
  readonly intermediateSize: number;
  /** Rows of the position table. */
  readonly maxPositions: number;
  /** Rows of the segment (token-type) table: 6 with VLP's `--new_segment_ids`. */
  readonly typeVocabSize: number;
  /** LayerNorm epsilon (VLP: 1e-5 everywhere, not BERT's 1e-12). */
  readonly layerNormEps: number;
  /** Activation of the FFN and the LM-head transform: exact erf GELU. */
  readonly hiddenAct: "gelu";
  /** Dropout after embeddings, attention output, FFN output and the region branches. */
  readonly hiddenDropout: number;
  /** Dropout on the attention probabilities. */
  readonly attentionDropout: number;
  /** Std of the N(0, σ²) init of BERT Linear/Embedding weights. */
  readonly initializerRange: number;
  /** R: region slots (sequence positions 1..R); VLP asserts 100. */
  readonly regions: number;
  /** F: region appearance feature size (Detectron fc6: 2048). */
  readonly regionFeatureSize: number;
  /** Hidden size of the first region Linear (`vis_embed.0`: F → this; 2048 in VLP). */
  readonly regionHiddenSize: number;
  /** G: region geometry + class-probability vector size (6 + 1601). */
  readonly regionGeometrySize: number;
  /** A: VQA answers (the hard-coded 3129 of `ans_classifier.2`). */
  readonly numAnswers: number;
}

/** Configuration input: any subset of fields (the rest take VLP's defaults). */
export type VlpConfigInput = { -readonly [K in keyof VlpConfig]?: VlpConfig[K] };

/** Zod schema of {@linkcode VlpConfig} (strict: unknown fields are errors). */
export const VlpConfigSchema: z.ZodType<VlpConfig, z.ZodTypeDef, VlpConfigInput> = z.object({
  vocabSize: posInt.default(28996),
  hiddenSize: posInt.default(768),
  numLayers: posInt.default(12),
  numHeads: posInt.default(12),
  intermediateSize: posInt.default(3072),
  maxPositions: posInt.default(512),
  typeVocabSize: posInt.default(6),
  layerNormEps: z.number().positive().default(1e-5),
  hiddenAct: z.literal("gelu").default("gelu"),
  hiddenDropout: prob.default(0.1),
  attentionDropout: prob.default(0.1),
  initializerRange: z.number().positive().default(0.02),
  regions: posInt.default(LEN_VIS_INPUT),
  regionFeatureSize: posInt.default(2048),
  regionHiddenSize: posInt.default(2048),
  regionGeometrySize: posInt.default(1607),
  numAnswers: posInt.default(3129),
}).strict().refine((c) => c.hiddenSize % c.numHeads === 0, {
  message: "hiddenSize must be a multiple of numHeads",
  path: ["numHeads"],
});

/** Validate a (partial) configuration and fill in defaults; throws a `TypeError` listing the problems. */
export function parseConfig(input: VlpConfigInput = {}): VlpConfig {
  const r = VlpConfigSchema.safeParse(input);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new TypeError(`Cannot use model configuration: ${issues}`);
  }
  return Object.freeze(r.data);
}

/** The model VLP trains: bert-base-cased (V 28996) with 6 segment types, eps 1e-5, 100 regions. */
export const bertBaseConfig: VlpConfig = parseConfig({});

/** The configuration of the `vlp-tiny` reference fixture (C 32, 2 layers, 4 heads, I 64, full V, R, F, G, A). */
export const tinyConfig: VlpConfig = parseConfig({
  hiddenSize: 32,
  numLayers: 2,
  numHeads: 4,
  intermediateSize: 64,
  initializerRange: 0.2,
});

/** Fields of a BERT `bert_config.json` that the model uses. */
export interface BertJsonConfig {
  /** V */
  vocab_size: number;
  /** C */
  hidden_size: number;
  /** NL */
  num_hidden_layers: number;
  /** NH */
  num_attention_heads: number;
  /** I */
  intermediate_size: number;
  /** must be "gelu" */
  hidden_act?: string;
  /** hidden dropout (default 0.1) */
  hidden_dropout_prob?: number;
  /** attention dropout (default 0.1) */
  attention_probs_dropout_prob?: number;
  /** position table rows (default 512) */
  max_position_embeddings?: number;
  /** ignored: VLP uses 6 */
  type_vocab_size?: number;
  /** init std (default 0.02) */
  initializer_range?: number;
  /** ignored: VLP uses 1e-5 */
  layer_norm_eps?: number;
  /** VLP sizes that are not BERT fields (optional; for small synthetic models): `vis_embed.0` output */
  region_hidden_size?: number;
  /** F: region appearance feature size (default 2048) */
  region_feature_size?: number;
  /** G: region geometry + class vector size (default 1607) */
  region_geometry_size?: number;
  /** A: VQA answers (default 3129) */
  num_answers?: number;
  /** other fields are ignored */
  [key: string]: unknown;
}

const VLP_EXTRA_KEYS = {
  region_hidden_size: "regionHiddenSize",
  region_feature_size: "regionFeatureSize",
  region_geometry_size: "regionGeometrySize",
  num_answers: "numAnswers",
} as const;

/**
 * Configuration from a BERT `bert_config.json` object with VLP's overrides applied: `type_vocab_size` 6
 * (`--new_segment_ids`) and LayerNorm eps 1e-5, whatever the file says. The optional non-BERT keys
 * `region_hidden_size`, `region_feature_size`, `region_geometry_size` and `num_answers` set VLP's fixed sizes
 * (2048, 2048, 1607, 3129 by default), for small synthetic models.
 * `overrides` (camelCase fields) win over both, e.g. `{ hiddenDropout: 0.1, attentionDropout: 0.1 }` for
 * VLP's `--drop_prob`.
 */
export function configFromBertJson(json: BertJsonConfig, overrides: VlpConfigInput = {}): VlpConfig {
  const need = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"];
  for (const k of need) {
    if (typeof json[k] !== "number") {
      throw new TypeError(`Cannot read BERT config: field "${k}" is missing or not a number`);
    }
  }
  if (json.hidden_act !== undefined && json.hidden_act !== "gelu") {
    throw new TypeError(
      `Cannot read BERT config: hidden_act "${json.hidden_act}" is not supported, expected "gelu"`,
    );
  }
  return parseConfig({
    vocabSize: json.vocab_size,
    hiddenSize: json.hidden_size,
    numLayers: json.num_hidden_layers,
    numHeads: json.num_attention_heads,
    intermediateSize: json.intermediate_size,
    hiddenDropout: json.hidden_dropout_prob ?? 0.1,
    attentionDropout: json.attention_probs_dropout_prob ?? 0.1,
    initializerRange: json.initializer_range ?? 0.02,
    maxPositions: json.max_position_embeddings ?? 512,
    typeVocabSize: 6,
    layerNormEps: 1e-5,
    ...Object.fromEntries(
      Object.entries(VLP_EXTRA_KEYS).filter(([k]) => json[k] !== undefined).map(([k, c]) => [c, json[k]]),
    ),
    ...overrides,
  });
}

/** Read a `bert_config.json` file and apply {@linkcode configFromBertJson}. */
export async function readBertConfig(path: string, overrides: VlpConfigInput = {}): Promise<VlpConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new SyntaxError(`Cannot read BERT config "${path}": ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null) {
    throw new SyntaxError(`Cannot read BERT config "${path}": expected a JSON object`);
  }
  return configFromBertJson(json as BertJsonConfig, overrides);
}

/** The glossary letters of a configuration. */
export interface Dims {
  /** hidden size */
  C: number;
  /** layers */
  NL: number;
  /** heads */
  NH: number;
  /** head size */
  HS: number;
  /** FFN intermediate size */
  I: number;
  /** vocabulary */
  V: number;
  /** regions */
  R: number;
  /** region feature size */
  F: number;
  /** hidden size of the first region Linear */
  FH: number;
  /** region geometry + class size */
  G: number;
  /** VQA answers */
  A: number;
}

/** The dimension letters of a configuration. */
export function dims(c: VlpConfig): Dims {
  return {
    C: c.hiddenSize,
    NL: c.numLayers,
    NH: c.numHeads,
    HS: c.hiddenSize / c.numHeads,
    I: c.intermediateSize,
    V: c.vocabSize,
    R: c.regions,
    F: c.regionFeatureSize,
    FH: c.regionHiddenSize,
    G: c.regionGeometrySize,
    A: c.numAnswers,
  };
}
