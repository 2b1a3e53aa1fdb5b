/**
 * The VLP model as ONNX graphs, built from the model's parameter table (initializers are named after VLP's
 * state_dict keys; the query/key/value weights of a layer are one `...attention.self.qkv.weight` [3C, C] as
 * in the table's packed layout). Operator set 17 (LayerNormalization); only standard `ai.onnx` operators.
 *
 * Two graphs (glossary letters, symbolic dimension names in quotes):
 *
 * **encoder** (full forward, no cache): inputs
 *   `region_feats` ["batch", R, F] float, `vis_pe` ["batch", R, G] float,
 *   `input_ids`, `segment_ids`, `position_ids` ["batch", "seq_len"] int64 (VLP: positions 0..seq_len−1),
 *   `attention_mask` ["batch", "seq_len", "seq_len"] float 0/1 (row = query, column = key),
 *   `masked_pos` ["batch", "masked"] int64;
 * outputs `sequence_output` ["batch", "seq_len", C], `pooled_output` ["batch", C],
 *   `mlm_scores` ["batch", "masked", V] and, for the vqa2 task, `vqa_logits` ["batch", A].
 *   "seq_len" = R + 2 + text length; "masked" may be 0.
 *
 * **decoder** (one incremental decoding step with a key/value cache, spec §5.2): inputs
 *   `region_feats` ["sequences", "regions", F], `vis_pe` ["sequences", "regions", G] (regions = R on the
 *   first call, which starts at position 0; 0 afterwards),
 *   `input_ids`, `segment_ids`, `position_ids` ["sequences", "new_len"] int64,
 *   `attention_mask` ["sequences", "new_len", "key_len"] float 0/1 with key_len = prefix_len + past_len + new_len,
 *   and per layer l < NL:
 *   `prefix_key.l` ["images", NH, HS, "prefix_len"], `prefix_value.l` ["images", NH, "prefix_len", HS]
 *   (the prompt of each image, shared by its W = sequences / images sequences: sequence n belongs to image
 *   ⌊n / W⌋; keys are stored transposed), `past_key.l` ["sequences", NH, HS, "past_len"],
 *   `past_value.l` ["sequences", NH, "past_len", HS] (each sequence's generated positions);
 * outputs `logits` ["sequences", V] (LM head on the last new position, the `[MASK]`) and per layer
 *   `present_key.l`, `present_value.l` (past_len + new_len − 1 positions) = past plus every new position
 *   except the last (the `[MASK]`, whose states are recomputed with the real token on the next step).
 *   The first call (prompt + `[MASK]`, empty past; an empty prefix, or one zero column the mask hides, which
 *   the WebGPU provider needs) returns the prompt's keys/values as presents: they become the prefix from then
 *   on, with an empty past. The prefix is broadcast over an image's sequences inside the attention MatMuls,
 *   never copied per sequence.
 *
 * @module
 */
import type { Task, VlpConfig } from "@vlp/model";
import { dims, type ParameterTable } from "@vlp/model";
import { type Dim, float, GraphBuilder, int, ints } from "./graph_builder.ts";

/** The ONNX operator set version the graphs use. */
export const OPSET = 17;

/** Host values of a model's parameters by VLP state_dict key. */
export interface GraphWeights {
  readonly config: VlpConfig;
  readonly task: Task;
  /** Values of a table key (float32, row-major, the table's shape). */
  get(name: string): Float32Array;
  /** Whether the table has this key. */
  has(name: string): boolean;
}

/** {@linkcode GraphWeights} over a flat host copy of a parameter buffer (views, no copies for float32). */
export function weightsFromFlat(
  config: VlpConfig,
  task: Task,
  table: ParameterTable,
  flat: Float32Array | Float64Array,
): GraphWeights {
  const f32 = flat instanceof Float32Array ? flat : Float32Array.from(flat);
  return {
    config,
    task,
    has: (name) => table.has(name),
    get: (name) => {
      if (name.endsWith(".attention.self.qkv.weight") || name.endsWith(".attention.self.qkv.bias")) {
        const q = table.get(name.replace(".qkv.", ".query."));
        return f32.subarray(q.offset, q.offset + 3 * q.size);
      }
      const s = table.get(name);
      return f32.subarray(s.offset, s.offset + s.size);
    },
  };
}

/** Options of the graph builders. */
export interface GraphOptions {
  /** Store weights as float16 (compute stays float32). */
  fp16?: boolean;
}

const INT64_MAX = Number.MAX_SAFE_INTEGER; // an "until the end" bound for Slice

/** Attention of layer l: queries [S, Lq, C] and the new positions' keys ‖ values [S, Lq, 2C] → [S·Lq, C]. */
type Attention = (l: number, q: string, kvNew: string) => string;

/**
 * Shared pieces of both graphs. The layer methods follow the model's layer list and names (model/
 * embeddings.ts, layers.ts, heads.ts: `regionBranchesForward` ↔ {@linkcode VlpGraph.regionBranches}, and so
 * on), emitting graph nodes instead of backend calls; the ONNX parity checks (onnx/parity.ts) keep the
 * graphs equal to the model.
 */
class VlpGraph {
  readonly g: GraphBuilder;
  readonly w: GraphWeights;
  readonly d: ReturnType<typeof dims>;
  readonly #params = new Map<string, string>();

  constructor(name: string, w: GraphWeights, opts: GraphOptions) {
    this.g = new GraphBuilder(name, { fp16: opts.fp16 });
    this.w = w;
    this.d = dims(w.config);
  }

  /** The initializer of a table key (added once). */
  param(key: string, shape: readonly number[]): string {
    let v = this.#params.get(key);
    if (!v) {
      v = this.g.weight(key, this.w.get(key), shape);
      this.#params.set(key, v);
    }
    return v;
  }

  /** y [M, out] = x [M, in] · Wᵀ + b for the Linear `prefix` (W [out, in] as stored). */
  linear(x: string, prefix: string, out: number, inp: number): string {
    const W = this.param(`${prefix}.weight`, [out, inp]), b = this.param(`${prefix}.bias`, [out]);
    return this.g.op("Gemm", [x, W, b], { transB: int(1) }, prefix.split(".").slice(-2).join("_"));
  }

  layerNorm(x: string, prefix: string): string {
    const { C } = this.d;
    return this.g.op(
      "LayerNormalization",
      [x, this.param(`${prefix}.weight`, [C]), this.param(`${prefix}.bias`, [C])],
      { axis: int(-1), epsilon: float(this.w.config.layerNormEps) },
    );
  }

  /** Exact GELU, x·½(1 + erf(x/√2)) (ONNX Runtime fuses the pattern into one kernel). */
  gelu(x: string): string {
    const g = this.g;
    const e = g.op("Erf", [g.op("Div", [x, g.constFloat([Math.SQRT2], [])])]);
    return g.op("Mul", [g.op("Mul", [x, g.op("Add", [e, g.constFloat([1], [])])]), g.constFloat([0.5], [])]);
  }

  /** Element `i` of a 1-D int64 shape tensor, as a [1] tensor. */
  dim(shape: string, i: number): string {
    return this.g.op("Gather", [shape, this.g.constInt([i])], { axis: int(0) });
  }

  /** Concatenation of [k]-shaped int64 tensors / constants into a shape. */
  shape(...parts: (string | number)[]): string {
    const g = this.g;
    return g.op("Concat", parts.map((p) => (typeof p === "number" ? g.constInt([p]) : p)), { axis: int(0) });
  }

  /** x sliced on `axis` from `start` to `end` (each a [1] int64 tensor or a number). */
  slice(x: string, start: string | number, end: string | number, axis: number): string {
    const g = this.g;
    const t = (v: string | number) => (typeof v === "number" ? g.constInt([v]) : v);
    return g.op("Slice", [x, t(start), t(end), g.constInt([axis])]);
  }

  /** [S, L, C] → [S, NH, L, HS] (perm [0, 2, 1, 3]) or [S, NH, HS, L] (perm [0, 2, 3, 1]). */
  heads(x: string, perm: number[]): string {
    const g = this.g, { NH, HS } = this.d;
    return g.op("Transpose", [g.op("Reshape", [x, g.constInt([0, 0, NH, HS])])], { perm: ints(perm) });
  }

  /** Softmax over the keys of scaled scores plus the additive mask: (scores/√HS + mask). */
  probs(scores: string, maskAdd: string): string {
    const g = this.g, scale = g.constFloat([1 / Math.sqrt(this.d.HS)], []);
    return g.op("Softmax", [g.op("Add", [g.op("Mul", [scores, scale]), maskAdd])], { axis: int(-1) });
  }

  /** Context [S, NH, Lq, HS] → [S·Lq, C]. */
  mergeHeads(ctx: string): string {
    const g = this.g;
    return g.op("Reshape", [
      g.op("Transpose", [ctx], { perm: ints([0, 2, 1, 3]) }),
      g.constInt([-1, this.d.C]),
    ]);
  }

  /** Self-attention over the new positions alone (the encoder): ctx [S·Lq, C]. */
  selfAttention(maskAdd: string): Attention {
    return (_l, q, kv) => {
      const g = this.g, C = this.d.C;
      const [k, v] = g.opN("Split", [kv, g.constInt([C, C])], 2, { axis: int(2) });
      const probs = this.probs(
        g.op("MatMul", [this.heads(q, [0, 2, 1, 3]), this.heads(k, [0, 2, 3, 1])]),
        maskAdd,
      );
      return this.mergeHeads(g.op("MatMul", [probs, this.heads(v, [0, 2, 1, 3])])); // [S, NH, Lq, HS] → [S·Lq, C]
    };
  }

  /**
   * Region branches: vis = relu(relu(feats·W0ᵀ + b0)·W2ᵀ + b2), pe = relu(visPe·Wpeᵀ + bpe), each
   * [S, Rr, C] for feats [S, Rr, F] and visPe [S, Rr, G] (Rr may be 0).
   */
  regionBranches(feats: string, visPe: string): { vis: string; pe: string; count: string } {
    const g = this.g, { C, F, FH, G } = this.d;
    const fshape = g.op("Shape", [feats]);
    const back = this.shape(this.dim(fshape, 0), -1, C); // [S, Rr, C]
    const r1 = g.op("Relu", [
      this.linear(g.op("Reshape", [feats, g.constInt([-1, F])]), "vis_embed.0", FH, F),
    ]);
    const r2 = g.op("Relu", [this.linear(r1, "vis_embed.2", C, FH)]);
    const p = g.op("Relu", [
      this.linear(g.op("Reshape", [visPe, g.constInt([-1, G])]), "vis_pe_embed.0", C, G),
    ]);
    return { vis: g.op("Reshape", [r2, back]), pe: g.op("Reshape", [p, back]), count: this.dim(fshape, 1) };
  }

  /**
   * Embeddings of ids/segments/positions [S, Lq]: word + position + segment, with slots 1..Rr taking the
   * region branches instead of word and position (spec §1.3), then LayerNorm. Returns [S·Lq, C].
   */
  embeddings(ids: string, seg: string, pos: string, r: { vis: string; pe: string; count: string }): string {
    const g = this.g, { C, V } = this.d, cfg = this.w.config;
    const end = g.op("Add", [r.count, g.constInt([1])]);
    const withRegions = (table: string, idx: string, regions: string) => {
      const x = g.op("Gather", [table, idx], { axis: int(0) }); // [S, Lq, C]
      return g.op("Concat", [this.slice(x, 0, 1, 1), regions, this.slice(x, end, INT64_MAX, 1)], {
        axis: int(1),
      });
    };
    const word = withRegions(this.param("bert.embeddings.word_embeddings.weight", [V, C]), ids, r.vis);
    const posE = withRegions(
      this.param("bert.embeddings.position_embeddings.weight", [cfg.maxPositions, C]),
      pos,
      r.pe,
    );
    const type = g.op("Gather", [
      this.param("bert.embeddings.token_type_embeddings.weight", [cfg.typeVocabSize, C]),
      seg,
    ], {
      axis: int(0),
    });
    const sum = g.op("Add", [g.op("Add", [word, posE]), type]);
    return this.layerNorm(g.op("Reshape", [sum, g.constInt([-1, C])]), "bert.embeddings.LayerNorm");
  }

  /** VLP's additive mask (1 − m)·(−10000) of a 0/1 mask [S, Lq, Lk], as [S, 1, Lq, Lk]. */
  additiveMask(mask01: string): string {
    const g = this.g;
    const m = g.op("Mul", [g.op("Sub", [g.constFloat([1], []), mask01]), g.constFloat([-10000], [])]);
    return g.op("Unsqueeze", [m, g.constInt([1])]);
  }

  /** Attention output block of layer `l` (attentionOutputForward): LN1(ctx·Woᵀ + bo + x), [S·Lq, C]. */
  attentionOutput(l: number, ctx: string, x: string): string {
    const { C } = this.d, p = `bert.encoder.layer.${l}`;
    return this.layerNorm(
      this.g.op("Add", [this.linear(ctx, `${p}.attention.output.dense`, C, C), x]),
      `${p}.attention.output.LayerNorm`,
    );
  }

  /** FFN block of layer `l` (ffnForward): LN2(gelu(x·Wiᵀ + bi)·Wo2ᵀ + bo2 + x), [S·Lq, C]. */
  ffn(l: number, x: string): string {
    const { C, I } = this.d, p = `bert.encoder.layer.${l}`;
    const f = this.gelu(this.linear(x, `${p}.intermediate.dense`, I, C));
    return this.layerNorm(
      this.g.op("Add", [this.linear(f, `${p}.output.dense`, C, I), x]),
      `${p}.output.LayerNorm`,
    );
  }

  /**
   * Encoder layer `l` on h [S·Lq, C] (encoderLayerForward: post-LN BERT layer, no dropout); `shapeSL` is the
   * [2] shape [S, Lq] and `attention` turns queries [S, Lq, C] and the new positions' keys ‖ values
   * [S, Lq, 2C] into [S·Lq, C].
   */
  encoderLayer(l: number, h: string, shapeSL: string, attention: Attention): string {
    const g = this.g, { C } = this.d;
    const qkv = g.op("Reshape", [
      this.linear(h, `bert.encoder.layer.${l}.attention.self.qkv`, 3 * C, C),
      this.shape(shapeSL, 3 * C),
    ]);
    const [q, kv] = g.opN("Split", [qkv, g.constInt([C, 2 * C])], 2, { axis: int(2) }); // [S, Lq, C], [S, Lq, 2C]
    return this.ffn(l, this.attentionOutput(l, attention(l, q, kv), h));
  }

  /** Pooler (poolerForward) on the `[CLS]` rows [B, C]: tanh(cls·Wpᵀ + bp). */
  pooler(cls: string): string {
    return this.g.op("Tanh", [this.linear(cls, "bert.pooler.dense", this.d.C, this.d.C)]);
  }

  /**
   * Masked-LM head (mlmHeadForward) on rows [M, C]: LN(gelu(x·Wtᵀ + bt))·wteᵀ + bias → [M, V] (decoder tied
   * to the word table).
   */
  mlmHead(x: string): string {
    const g = this.g, { C, V } = this.d;
    const t = this.layerNorm(
      this.gelu(this.linear(x, "cls.predictions.transform.dense", C, C)),
      "cls.predictions.transform.LayerNorm",
    );
    const wte = this.param("bert.embeddings.word_embeddings.weight", [V, C]);
    return g.op("Gemm", [t, wte, this.param("cls.predictions.bias", [V])], { transB: int(1) }, "lm_logits");
  }

  /** VQA head (vqaHeadForward) on the `[CLS]` and first `[SEP]` rows [B, C]: relu((cls ⊙ sep)·Wa0ᵀ + ba0)·Wa2ᵀ + ba2. */
  vqaHead(cls: string, sep: string): string {
    const g = this.g, { C, A } = this.d;
    const z = g.op("Mul", [cls, sep]);
    const a1 = g.op("Relu", [this.linear(z, "ans_classifier.0", 2 * C, C)]);
    return this.linear(a1, "ans_classifier.2", A, 2 * C);
  }
}

function layerWeights(w: GraphWeights): void {
  if (!w.has("bert.encoder.layer.0.attention.self.query.weight") && w.config.numLayers > 0) {
    throw new TypeError("Cannot build ONNX graph: the weights have no encoder layers");
  }
}

/** The encoder graph (see the module doc) of a model's weights. */
export function buildEncoderGraph(w: GraphWeights, opts: GraphOptions = {}): GraphBuilder {
  layerWeights(w);
  const m = new VlpGraph("vlp_encoder", w, opts), g = m.g, { C, R, F, G, A, NL } = m.d;
  const B: Dim = "batch", L: Dim = "seq_len";
  const feats = g.input("region_feats", "float", [B, R, F]);
  const visPe = g.input("vis_pe", "float", [B, R, G]);
  const ids = g.input("input_ids", "int64", [B, L]);
  const seg = g.input("segment_ids", "int64", [B, L]);
  const mask = g.input("attention_mask", "float", [B, L, L]);
  const pos = g.input("position_ids", "int64", [B, L]);
  const maskedPos = g.input("masked_pos", "int64", [B, "masked"]);
  const shapeBL = g.op("Shape", [ids]);
  let h = m.embeddings(ids, seg, pos, m.regionBranches(feats, visPe)); // [B·L, C]
  const maskAdd = m.additiveMask(mask);
  const attention = m.selfAttention(maskAdd);
  for (let l = 0; l < NL; l++) h = m.encoderLayer(l, h, shapeBL, attention);
  const seq = g.op("Reshape", [h, m.shape(shapeBL, C)]); // [B, L, C]
  g.output(seq, "sequence_output", "float", [B, L, C]);
  const row = (i: number) => g.op("Gather", [seq, g.constInt([i], [])], { axis: int(1) }); // [B, C]
  const cls = row(0);
  g.output(m.pooler(cls), "pooled_output", "float", [B, C]);
  // MLM scores at the masked positions: [B, P, C] → [B·P, V] → [B, P, V]
  const hm = g.op("GatherND", [seq, g.op("Unsqueeze", [maskedPos, g.constInt([2])])], { batch_dims: int(1) });
  const scores = m.mlmHead(g.op("Reshape", [hm, g.constInt([-1, C])]));
  g.output(
    g.op("Reshape", [scores, m.shape(g.op("Shape", [maskedPos]), m.d.V)], { allowzero: int(1) }),
    "mlm_scores",
    "float",
    [
      B,
      "masked",
      m.d.V,
    ],
  );
  if (w.task === "vqa2") {
    g.output(m.vqaHead(cls, row(R + 1)), "vqa_logits", "float", [B, A]); // h[:, 0] and h[:, R+1]
  }
  return g;
}

/** The decoder (incremental step) graph (see the module doc) of a model's weights. */
export function buildDecoderGraph(w: GraphWeights, opts: GraphOptions = {}): GraphBuilder {
  layerWeights(w);
  const m = new VlpGraph("vlp_decoder", w, opts), g = m.g, { C, F, G, V, NL, NH, HS } = m.d;
  const N: Dim = "sequences", Lq: Dim = "new_len", Bi: Dim = "images";
  const feats = g.input("region_feats", "float", [N, "regions", F]);
  const visPe = g.input("vis_pe", "float", [N, "regions", G]);
  const ids = g.input("input_ids", "int64", [N, Lq]);
  const seg = g.input("segment_ids", "int64", [N, Lq]);
  const pos = g.input("position_ids", "int64", [N, Lq]);
  const mask = g.input("attention_mask", "float", [N, Lq, "key_len"]);
  const cache = Array.from({ length: NL }, (_, l) => ({
    prefixKey: g.input(`prefix_key.${l}`, "float", [Bi, NH, HS, "prefix_len"]),
    prefixValue: g.input(`prefix_value.${l}`, "float", [Bi, NH, "prefix_len", HS]),
    pastKey: g.input(`past_key.${l}`, "float", [N, NH, HS, "past_len"]),
    pastValue: g.input(`past_value.${l}`, "float", [N, NH, "past_len", HS]),
  }));
  // sizes: sequences N, images B, W = N / B sequences per image, new positions Lq, prefix positions Ap
  const shapeNL = g.op("Shape", [ids]);
  const n = m.dim(shapeNL, 0), lq = m.dim(shapeNL, 1);
  const prefixShape = g.op("Shape", [cache[0].prefixKey]);
  const b = m.dim(prefixShape, 0), ap = m.dim(prefixShape, 3), width = g.op("Div", [n, b]);
  const reshape = (x: string, ...dims: (string | number)[]) =>
    g.op("Reshape", [x, m.shape(...dims)], { allowzero: int(1) }); // explicit sizes, 0 included
  const maskAdd = m.additiveMask(mask);
  const presents: { key: string; value: string }[] = [];
  /**
   * Cached attention: the new positions' queries against [prefix of the image | past of the sequence | new]
   * keys. The prefix (per image) is broadcast over its W sequences inside the MatMuls, never copied per
   * sequence. Records each layer's present keys/values (past + new positions but the last).
   */
  const attention: Attention = (l, q, kv) => {
    const c = cache[l];
    const [k, v] = g.opN("Split", [kv, g.constInt([C, C])], 2, { axis: int(2) });
    const qh = m.heads(q, [0, 2, 1, 3]); // [N, NH, Lq, HS]
    const kg = g.op("Concat", [c.pastKey, m.heads(k, [0, 2, 3, 1])], { axis: int(3) }); // [N, NH, HS, g + Lq]
    const vg = g.op("Concat", [c.pastValue, m.heads(v, [0, 2, 1, 3])], { axis: int(2) }); // [N, NH, g + Lq, HS]
    presents.push({ key: m.slice(kg, 0, -1, 3), value: m.slice(vg, 0, -1, 2) });
    const unsq = (x: string) => g.op("Unsqueeze", [x, g.constInt([1])]); // [B, NH, ..] → [B, 1, NH, ..]
    const sp = g.op("MatMul", [reshape(qh, b, width, NH, lq, HS), unsq(c.prefixKey)]); // [B, W, NH, Lq, Ap]
    const scores = g.op("Concat", [reshape(sp, n, NH, lq, ap), g.op("MatMul", [qh, kg])], { axis: int(3) });
    const probs = m.probs(scores, maskAdd); // [N, NH, Lq, Ap + g + Lq]
    const pp = reshape(m.slice(probs, 0, ap, 3), b, width, NH, lq, ap); // [B, W, NH, Lq, Ap]
    const cp = reshape(g.op("MatMul", [pp, unsq(c.prefixValue)]), n, NH, lq, HS); // [N, NH, Lq, HS]
    const cg = g.op("MatMul", [m.slice(probs, ap, INT64_MAX, 3), vg]); // [N, NH, Lq, HS]
    return m.mergeHeads(g.op("Add", [cp, cg]));
  };
  let h = m.embeddings(ids, seg, pos, m.regionBranches(feats, visPe)); // [N·Lq, C]
  for (let l = 0; l < NL; l++) h = m.encoderLayer(l, h, shapeNL, attention);
  const last = g.op("Reshape", [
    m.slice(g.op("Reshape", [h, m.shape(shapeNL, C)]), -1, INT64_MAX, 1),
    g.constInt([-1, C]),
  ]);
  g.output(m.mlmHead(last), "logits", "float", [N, V]);
  presents.forEach((p, l) => {
    g.output(p.key, `present_key.${l}`, "float", [N, NH, HS, "present_len"]);
    g.output(p.value, `present_value.${l}`, "float", [N, NH, "present_len", HS]);
  });
  return g;
}
