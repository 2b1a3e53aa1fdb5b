/**
 * The parameter table: every tensor of the model with its VLP state_dict key, shape, initialisation and
 * weight-decay group, laid out in ONE flat buffer (llm.c's `malloc_and_point_parameters`). Gradients use a
 * second flat buffer with the same layout, so zeroing them is one fill and an optimiser is one loop.
 *
 * Layout: tensors in table order, each starting at a multiple of 64 elements (256 bytes), except that the
 * query/key/value weights of a layer are packed back to back (a [3C, C] matrix) and so are their biases
 * ([3C]), so that Q, K and V come out of one GEMM. The decoder weight `cls.predictions.decoder.weight` is
 * not a table entry: it is tied to `bert.embeddings.word_embeddings.weight` (one tensor, one gradient).
 *
 * Initialisation (spec 1.5): BERT Linear/Embedding weights N(0, initializerRange²), Linear biases 0,
 * LayerNorm 1/0; the region branches and the VQA classifier keep PyTorch's default Linear init,
 * U(±1/√fan_in) for weight and bias (VLP's `vis_embed.0` starts from Detectron fc7 weights, which are not
 * available here: it gets the default init too).
 *
 * @example Usage
 * ```ts
 * import { parameterTable, tinyConfig } from "@vlp/model";
 * import assert from "node:assert/strict";
 * const t = parameterTable(tinyConfig, "vqa2");
 * const q = t.get("bert.encoder.layer.0.attention.self.query.weight");
 * assert.deepEqual(q.shape, [32, 32]);
 * assert.equal(q.decay, true);
 * assert.equal(t.get("cls.predictions.bias").decay, false);
 * ```
 *
 * @module
 */
import type { VlpConfig } from "./config.ts";
import { dims } from "./config.ts";
import type { Backend, Tensor } from "./backend.ts";
import { fmtShape, numel } from "./backend.ts";
import type { Rng } from "./rng.ts";

/** Which head the model carries: captioning / pre-training (MLM only) or VQA (adds `ans_classifier`). */
export type Task = "img2txt" | "vqa2";

/** How a tensor is initialised. */
export type Init =
  | { kind: "normal"; std: number }
  | { kind: "uniform"; bound: number }
  | { kind: "zeros" }
  | { kind: "ones" };

/** One row of the parameter table. */
export interface ParamSpec {
  /** VLP state_dict key. */
  readonly name: string;
  /** Shape (PyTorch's: Linear weights [out, in]). */
  readonly shape: readonly number[];
  /** Elements. */
  readonly size: number;
  /** Element offset in the flat buffer. */
  readonly offset: number;
  /** Initialisation of a fresh model. */
  readonly init: Init;
  /** BertAdam weight-decay group: false for every bias and LayerNorm parameter. */
  readonly decay: boolean;
}

/** State-dict keys that are the same tensor as a table entry (key → table entry). */
export const TIED_KEYS: Readonly<Record<string, string>> = {
  "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
};

/** The ordered table of a configuration and task. */
export class ParameterTable {
  /** Entries in flat-buffer order. */
  readonly specs: readonly ParamSpec[];
  /** Elements of the flat buffer (including alignment padding). */
  readonly total: number;
  readonly #byName: Map<string, ParamSpec>;

  /** A table of entries and the flat size (use {@linkcode parameterTable}). */
  constructor(specs: ParamSpec[], total: number) {
    this.specs = specs;
    this.total = total;
    this.#byName = new Map(specs.map((s) => [s.name, s]));
  }

  /** The entry of a state_dict key (tied keys resolve to their tensor); throws RangeError if unknown. */
  get(name: string): ParamSpec {
    const s = this.#byName.get(TIED_KEYS[name] ?? name);
    if (!s) throw new RangeError(`Unknown parameter "${name}"`);
    return s;
  }

  /** Whether the table has this key (tied keys count). */
  has(name: string): boolean {
    return this.#byName.has(TIED_KEYS[name] ?? name);
  }

  /** Number of parameters (without padding). */
  get count(): number {
    return this.specs.reduce((s, p) => s + p.size, 0);
  }
}

const ALIGN = 64;

/** Build the parameter table of a configuration and task. */
export function parameterTable(config: VlpConfig, task: Task = "img2txt"): ParameterTable {
  const { C, I, V, F, FH, G, A, NL } = dims(config);
  const specs: ParamSpec[] = [];
  let offset = 0;
  const normal: Init = { kind: "normal", std: config.initializerRange };
  const zeros: Init = { kind: "zeros" }, ones: Init = { kind: "ones" };
  const add = (name: string, shape: number[], init: Init, packed = false) => {
    if (!packed) offset = Math.ceil(offset / ALIGN) * ALIGN;
    const size = numel(shape);
    const decay = !(name.includes("bias") || name.includes("LayerNorm.weight"));
    specs.push(Object.freeze({ name, shape: Object.freeze(shape), size, offset, init, decay }));
    offset += size;
  };
  const torchLinear = (name: string, out: number, inp: number) => {
    const bound = 1 / Math.sqrt(inp);
    add(`${name}.weight`, [out, inp], { kind: "uniform", bound });
    add(`${name}.bias`, [out], { kind: "uniform", bound });
  };
  const ln = (name: string, n: number) => {
    add(`${name}.weight`, [n], ones);
    add(`${name}.bias`, [n], zeros);
  };

  add("bert.embeddings.word_embeddings.weight", [V, C], normal);
  add("bert.embeddings.position_embeddings.weight", [config.maxPositions, C], normal);
  add("bert.embeddings.token_type_embeddings.weight", [config.typeVocabSize, C], normal);
  ln("bert.embeddings.LayerNorm", C);
  for (let l = 0; l < NL; l++) {
    const p = `bert.encoder.layer.${l}`;
    add(`${p}.attention.self.query.weight`, [C, C], normal);
    add(`${p}.attention.self.key.weight`, [C, C], normal, true);
    add(`${p}.attention.self.value.weight`, [C, C], normal, true);
    add(`${p}.attention.self.query.bias`, [C], zeros);
    add(`${p}.attention.self.key.bias`, [C], zeros, true);
    add(`${p}.attention.self.value.bias`, [C], zeros, true);
    add(`${p}.attention.output.dense.weight`, [C, C], normal);
    add(`${p}.attention.output.dense.bias`, [C], zeros);
    ln(`${p}.attention.output.LayerNorm`, C);
    add(`${p}.intermediate.dense.weight`, [I, C], normal);
    add(`${p}.intermediate.dense.bias`, [I], zeros);
    add(`${p}.output.dense.weight`, [C, I], normal);
    add(`${p}.output.dense.bias`, [C], zeros);
    ln(`${p}.output.LayerNorm`, C);
  }
  add("bert.pooler.dense.weight", [C, C], normal);
  add("bert.pooler.dense.bias", [C], zeros);
  add("cls.predictions.bias", [V], zeros);
  add("cls.predictions.transform.dense.weight", [C, C], normal);
  add("cls.predictions.transform.dense.bias", [C], zeros);
  ln("cls.predictions.transform.LayerNorm", C);
  torchLinear("vis_embed.0", FH, F);
  torchLinear("vis_embed.2", C, FH);
  torchLinear("vis_pe_embed.0", C, G);
  if (task === "vqa2") {
    torchLinear("ans_classifier.0", 2 * C, C);
    torchLinear("ans_classifier.2", A, 2 * C);
  }
  return new ParameterTable(specs, Math.ceil(offset / ALIGN) * ALIGN);
}

/** Tensors of one encoder layer (views into a flat buffer). */
export interface LayerTensors {
  /** [3C, C] query, key, value weights stacked */
  qkvW: Tensor;
  /** [3C] */
  qkvB: Tensor;
  /** [C, C] attention.output.dense */
  attnOutW: Tensor;
  /** [C] */
  attnOutB: Tensor;
  /** [C] attention.output.LayerNorm */
  ln1W: Tensor;
  /** [C] */
  ln1B: Tensor;
  /** [I, C] intermediate.dense */
  ffnInW: Tensor;
  /** [I] */
  ffnInB: Tensor;
  /** [C, I] output.dense */
  ffnOutW: Tensor;
  /** [C] */
  ffnOutB: Tensor;
  /** [C] output.LayerNorm */
  ln2W: Tensor;
  /** [C] */
  ln2B: Tensor;
}

/** Named views of every tensor of a flat buffer (parameters or gradients). */
export interface ModelTensors {
  /** [V, C] word embeddings = the tied LM decoder weight */
  wte: Tensor;
  /** [maxPositions, C] */
  wpe: Tensor;
  /** [typeVocab, C] */
  wtt: Tensor;
  /** [C] embeddings LayerNorm weight */
  embLnW: Tensor;
  /** [C] */
  embLnB: Tensor;
  /** one entry per encoder layer */
  layers: LayerTensors[];
  /** [C, C] */
  poolerW: Tensor;
  /** [C] */
  poolerB: Tensor;
  /** [V] cls.predictions.bias */
  lmBias: Tensor;
  /** [C, C] cls.predictions.transform.dense */
  lmDenseW: Tensor;
  /** [C] */
  lmDenseB: Tensor;
  /** [C] LM-head transform LayerNorm */
  lmLnW: Tensor;
  /** [C] */
  lmLnB: Tensor;
  /** [FH, F] vis_embed.0 */
  vis0W: Tensor;
  /** [FH] */
  vis0B: Tensor;
  /** [C, FH] vis_embed.2 */
  vis2W: Tensor;
  /** [C] */
  vis2B: Tensor;
  /** [C, G] vis_pe_embed.0 */
  visPeW: Tensor;
  /** [C] */
  visPeB: Tensor;
  /** [2C, C] ans_classifier.0 (vqa2 only) */
  ans0W?: Tensor;
  /** [2C] */
  ans0B?: Tensor;
  /** [A, 2C] ans_classifier.2 (vqa2 only) */
  ans2W?: Tensor;
  /** [A] */
  ans2B?: Tensor;
}

/** Views of every table entry in `flat` (keyed by state_dict key). */
export function namedViews(be: Backend, table: ParameterTable, flat: Tensor): Map<string, Tensor> {
  if (flat.size !== table.total) {
    throw new TypeError(
      `Cannot view parameters: flat buffer has ${flat.size} elements, the table needs ${table.total}`,
    );
  }
  return new Map(table.specs.map((s) => [s.name, be.view(flat, s.offset, s.shape)]));
}

/** The structured views the forward and backward passes use. */
export function modelTensors(
  be: Backend,
  table: ParameterTable,
  flat: Tensor,
  config: VlpConfig,
): ModelTensors {
  const v = (name: string) => {
    const s = table.get(name);
    return be.view(flat, s.offset, s.shape);
  };
  const C = config.hiddenSize;
  const layers: LayerTensors[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = `bert.encoder.layer.${l}`;
    const q = table.get(`${p}.attention.self.query.weight`), qb = table.get(`${p}.attention.self.query.bias`);
    layers.push({
      qkvW: be.view(flat, q.offset, [3 * C, C]),
      qkvB: be.view(flat, qb.offset, [3 * C]),
      attnOutW: v(`${p}.attention.output.dense.weight`),
      attnOutB: v(`${p}.attention.output.dense.bias`),
      ln1W: v(`${p}.attention.output.LayerNorm.weight`),
      ln1B: v(`${p}.attention.output.LayerNorm.bias`),
      ffnInW: v(`${p}.intermediate.dense.weight`),
      ffnInB: v(`${p}.intermediate.dense.bias`),
      ffnOutW: v(`${p}.output.dense.weight`),
      ffnOutB: v(`${p}.output.dense.bias`),
      ln2W: v(`${p}.output.LayerNorm.weight`),
      ln2B: v(`${p}.output.LayerNorm.bias`),
    });
  }
  const vqa = table.has("ans_classifier.0.weight");
  return {
    wte: v("bert.embeddings.word_embeddings.weight"),
    wpe: v("bert.embeddings.position_embeddings.weight"),
    wtt: v("bert.embeddings.token_type_embeddings.weight"),
    embLnW: v("bert.embeddings.LayerNorm.weight"),
    embLnB: v("bert.embeddings.LayerNorm.bias"),
    layers,
    poolerW: v("bert.pooler.dense.weight"),
    poolerB: v("bert.pooler.dense.bias"),
    lmBias: v("cls.predictions.bias"),
    lmDenseW: v("cls.predictions.transform.dense.weight"),
    lmDenseB: v("cls.predictions.transform.dense.bias"),
    lmLnW: v("cls.predictions.transform.LayerNorm.weight"),
    lmLnB: v("cls.predictions.transform.LayerNorm.bias"),
    vis0W: v("vis_embed.0.weight"),
    vis0B: v("vis_embed.0.bias"),
    vis2W: v("vis_embed.2.weight"),
    vis2B: v("vis_embed.2.bias"),
    visPeW: v("vis_pe_embed.0.weight"),
    visPeB: v("vis_pe_embed.0.bias"),
    ...(vqa
      ? {
        ans0W: v("ans_classifier.0.weight"),
        ans0B: v("ans_classifier.0.bias"),
        ans2W: v("ans_classifier.2.weight"),
        ans2B: v("ans_classifier.2.bias"),
      }
      : {}),
  };
}

/** Host values of a freshly initialised flat buffer (spec 1.5), drawn from `rng` in table order. */
export function initialValues(
  table: ParameterTable,
  rng: Rng,
  precision: "float32" | "float64",
): Float32Array | Float64Array {
  const out = precision === "float64" ? new Float64Array(table.total) : new Float32Array(table.total);
  for (const s of table.specs) {
    const v = out.subarray(s.offset, s.offset + s.size);
    switch (s.init.kind) {
      case "normal":
        rng.fillNormal(v, 0, s.init.std);
        break;
      case "uniform":
        rng.fillUniform(v, -s.init.bound, s.init.bound);
        break;
      case "ones":
        v.fill(1);
        break;
      case "zeros":
        break;
    }
  }
  return out;
}

/** Check that an array has the shape of a table entry (TypeError naming the key otherwise). */
export function checkParamShape(spec: ParamSpec, shape: readonly number[], source: string): void {
  if (shape.length !== spec.shape.length || shape.some((d, i) => d !== spec.shape[i])) {
    throw new TypeError(
      `Cannot load ${source}: key "${spec.name}" has shape ${fmtShape(shape)}, expected ${
        fmtShape(spec.shape)
      }`,
    );
  }
}
