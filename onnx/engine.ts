/**
 * The `onnx` inference engine: an exported model directory (`exportOnnx`) run by onnxruntime-web.
 *
 * - {@linkcode OnnxModel.load} reads `vlp_onnx.json`; the encoder and decoder sessions are created on first
 *   use (each holds its own copy of the weights).
 * - The manifest's configuration is what runs: {@linkcode checkExportConfig} refuses a configuration from
 *   elsewhere (`--config_path`, size flags) that contradicts it, so that the data pipeline never prepares
 *   inputs for another model than the graphs compute.
 * - {@linkcode OnnxModel.forward}: the evaluation forward of a {@linkcode Batch} (sequence output, pooled
 *   output, MLM scores at `maskedPos`, VQA logits for a vqa2 export) as host arrays;
 *   {@linkcode OnnxModel.vqaLogits} is the VQA inference path.
 * - {@linkcode OnnxDecoder}: the {@linkcode DecodingEngine} of `@vlp/model` on the decoder graph, so greedy and
 *   beam search written against that interface run with ONNX Runtime doing the compute. The prompt's
 *   keys/values stay per image (`prefix_key.l`/`prefix_value.l`); each sequence's generated keys/values
 *   (`past_key.l`/`past_value.l`) come back from every step as the presents and are fed to the next,
 *   gathered by `reorder` for beam search.
 *
 * @example Usage
 * ```ts ignore
 * import { OnnxModel } from "@vlp/onnx";
 * const m = await OnnxModel.load("out/onnx", { executionProvider: "wasm", threads: 2 });
 * const logits = await m.vqaLogits(batch); // [B, A]
 * const dec = await m.decoder({ maxImages: 4, maxWidth: 5 });
 * const first = await dec.startLogits({ regionFeats, visPe, inputIds, segmentIds });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import type * as Ort from "onnxruntime-web";
import {
  type Batch,
  batchDims,
  DecodeSchedule,
  type DecodingEngine,
  type Numbers,
  type StartInputs,
  type StepInputs,
  type VlpConfig,
} from "@vlp/model";
import { MANIFEST_FILE, type OnnxManifest, readOnnxManifest } from "./export.ts";
import { createSession, loadRuntime, type OrtRuntime, type RuntimeOptions } from "./runtime.ts";

/** The fields of a configuration that change what the graphs compute (dropout and init are training's). */
const COMPUTE_FIELDS: readonly (keyof VlpConfig)[] = [
  "vocabSize",
  "hiddenSize",
  "numLayers",
  "numHeads",
  "intermediateSize",
  "maxPositions",
  "typeVocabSize",
  "layerNormEps",
  "hiddenAct",
  "regions",
  "regionFeatureSize",
  "regionHiddenSize",
  "regionGeometrySize",
  "numAnswers",
];

/**
 * The configuration an export runs with: its manifest's. `config`, when given, is the configuration the rest
 * of a command would use (read from `source`, e.g. `--config_path "bert_config.json"`); any field that
 * changes the computation and differs from the manifest's is an error naming each field, so a contradicting
 * configuration is never silently ignored.
 */
export function checkExportConfig(
  manifest: OnnxManifest,
  dir: string,
  config?: VlpConfig,
  source = "the configuration",
): VlpConfig {
  if (config) {
    const diff = COMPUTE_FIELDS.filter((k) => config[k] !== manifest.config[k])
      .map((k) => `${k} ${config[k]} (the export: ${manifest.config[k]})`);
    if (diff.length) {
      throw new RangeError(
        `${source} contradicts the ONNX export "${dir}" (${MANIFEST_FILE}): ${diff.join(", ")}; ` +
          `the export's configuration is what runs, so leave the configuration out or export this one`,
      );
    }
  }
  return manifest.config;
}

/** Host outputs of {@linkcode OnnxModel.forward} (shapes as in `ForwardOutputs` of `@vlp/model`). */
export interface OnnxForwardOutputs {
  /** [B, L, C] */
  sequenceOutput: Float32Array;
  /** [B, C] */
  pooled: Float32Array;
  /** [B, P, V] (when the batch has maskedPos) */
  mlmScores?: Float32Array;
  /** [B, A] (vqa2 export) */
  vqaLogits?: Float32Array;
}

function int64(a: Numbers): BigInt64Array {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]);
  return out;
}

function float32(a: Numbers): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

/** An onnxruntime tensor of host numbers (int64 ids/positions or float32 values). */
function tensor(ort: typeof Ort, type: "float32" | "int64", data: Numbers, dims: number[]): Ort.Tensor {
  return type === "int64"
    ? new ort.Tensor("int64", int64(data), dims)
    : new ort.Tensor("float32", float32(data), dims);
}

/** Rows [rows, cols] of a 0/1 mask with a 0 column put in front: [rows, 1 + cols]. */
function withHiddenColumn(mask: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * (cols + 1));
  for (let r = 0; r < rows; r++) out.set(mask.subarray(r * cols, (r + 1) * cols), r * (cols + 1) + 1);
  return out;
}

/** An exported model on onnxruntime-web (see the module doc). */
export class OnnxModel {
  readonly dir: string;
  readonly manifest: OnnxManifest;
  readonly runtime: OrtRuntime;
  #sessions = new Map<"encoder" | "decoder", Promise<Ort.InferenceSession>>();

  private constructor(dir: string, manifest: OnnxManifest, runtime: OrtRuntime) {
    this.dir = dir;
    this.manifest = manifest;
    this.runtime = runtime;
  }

  /** The configuration of the exported model. */
  get config(): OnnxManifest["config"] {
    return this.manifest.config;
  }

  /** Read an export directory's manifest and load the runtime (sessions are created on first use). */
  static async load(dir: string, opts: RuntimeOptions = {}): Promise<OnnxModel> {
    const manifest = await readOnnxManifest(dir);
    return new OnnxModel(dir, manifest, await loadRuntime(opts));
  }

  /** The session of one graph (created once, from the file's bytes). */
  session(which: "encoder" | "decoder"): Promise<Ort.InferenceSession> {
    let s = this.#sessions.get(which);
    if (!s) {
      const path = join(this.dir, this.manifest.files[which]);
      s = Deno.readFile(path).then((bytes) => createSession(this.runtime, bytes, path));
      this.#sessions.set(which, s);
    }
    return s;
  }

  /** Release every session created so far. */
  async release(): Promise<void> {
    for (const s of this.#sessions.values()) await (await s).release();
    this.#sessions.clear();
  }

  /** Evaluation forward of a batch through the encoder graph (positions default to 0..L−1). */
  async forward(batch: Batch): Promise<OnnxForwardOutputs> {
    const cfg = this.manifest.config;
    // labels (maskedIds, maskedWeights, answerTargets) are not inputs of the graph
    const { B, L } = batchDims({ ...batch, maskedPos: undefined, answerTargets: undefined }, cfg);
    const P = batch.maskedPos ? batch.maskedPos.length / B : 0;
    if (!Number.isInteger(P)) {
      throw new TypeError(
        `Cannot run the encoder: "maskedPos" has ${batch.maskedPos!.length} elements, not B·P (B = ${B})`,
      );
    }
    const { regions: R, regionFeatureSize: F, regionGeometrySize: G } = cfg;
    const positions = batch.positionIds ?? Int32Array.from({ length: B * L }, (_, i) => i % L);
    const t = (type: "float32" | "int64", data: Numbers, dims: number[]) =>
      tensor(this.runtime.ort, type, data, dims);
    const feeds = {
      region_feats: t("float32", batch.regionFeats, [B, R, F]),
      vis_pe: t("float32", batch.visPe, [B, R, G]),
      input_ids: t("int64", batch.inputIds, [B, L]),
      segment_ids: t("int64", batch.segmentIds, [B, L]),
      position_ids: t("int64", positions, [B, L]),
      attention_mask: t("float32", batch.attentionMask, [B, L, L]),
      masked_pos: t("int64", batch.maskedPos ?? [], [B, P]),
    };
    const vqa = this.manifest.task === "vqa2";
    const fetches = [
      "sequence_output",
      "pooled_output",
      ...(P > 0 ? ["mlm_scores"] : []),
      ...(vqa ? ["vqa_logits"] : []),
    ];
    const out = await (await this.session("encoder")).run(feeds, fetches);
    const get = (k: string) => out[k].data as Float32Array;
    return {
      sequenceOutput: get("sequence_output"),
      pooled: get("pooled_output"),
      ...(P > 0 ? { mlmScores: get("mlm_scores") } : {}),
      ...(vqa ? { vqaLogits: get("vqa_logits") } : {}),
    };
  }

  /** VQA inference: [B, A] answer logits of a batch (vqa2 export; maskedPos is ignored). */
  async vqaLogits(batch: Batch): Promise<Float32Array> {
    if (this.manifest.task !== "vqa2") {
      throw new TypeError(
        `Cannot compute VQA logits: "${this.dir}" was exported for task ${this.manifest.task}, not vqa2`,
      );
    }
    return (await this.forward({ ...batch, maskedPos: undefined })).vqaLogits!;
  }

  /** An incremental decoder on the decoder graph (creates its session on first use). */
  async decoder(opts: { maxImages: number; maxWidth?: number; maxLength?: number }): Promise<OnnxDecoder> {
    return new OnnxDecoder(this.manifest, await this.session("decoder"), this.runtime, opts);
  }
}

/** {@linkcode DecodingEngine} on the exported decoder graph (see the module doc). */
export class OnnxDecoder implements DecodingEngine {
  readonly vocabSize: number;
  readonly promptLength: number;
  readonly maxLength: number;
  readonly maxImages: number;
  readonly maxWidth: number;
  readonly #s: DecodeSchedule;
  readonly #session: Ort.InferenceSession;
  readonly #ort: typeof Ort;
  readonly #cfg: OnnxManifest["config"];
  // per layer: keys [S, NH, HS, P] (transposed) and values [S, NH, P, HS] of the prompt (S = B images,
  // P = A after start) and of each sequence's generated positions (S = N sequences, P = g)
  #prefix: { key: Float32Array; value: Float32Array }[] = [];
  #past: { key: Float32Array; value: Float32Array }[] = [];
  #pastLen = 0; // g
  #regions: { feats: Float32Array; visPe: Float32Array } | null = null;

  constructor(
    manifest: OnnxManifest,
    session: Ort.InferenceSession,
    runtime: OrtRuntime,
    opts: { maxImages: number; maxWidth?: number; maxLength?: number },
  ) {
    const c = manifest.config;
    this.#cfg = c;
    this.#session = session;
    this.#ort = runtime.ort;
    this.#s = new DecodeSchedule({
      R: c.regions,
      F: c.regionFeatureSize,
      G: c.regionGeometrySize,
      maxPositions: c.maxPositions,
    }, opts);
    this.vocabSize = c.vocabSize;
    this.promptLength = this.#s.promptLength;
    this.maxLength = this.#s.maxLength;
    this.maxImages = this.#s.maxImages;
    this.maxWidth = this.#s.maxWidth;
  }

  get maxSteps(): number {
    return this.#s.maxSteps;
  }

  get numSequences(): number {
    return this.#s.numSequences;
  }

  get width(): number {
    return this.#s.width;
  }

  get position(): number {
    return this.#s.position;
  }

  async startLogits(inp: StartInputs): Promise<Float32Array> {
    if (inp.dropoutRng) {
      throw new TypeError(
        "Cannot decode in train mode (dropoutRng) on ONNX Runtime: the export is eval-mode only",
      );
    }
    const step = this.#s.start(inp);
    this.#regions = { feats: float32(inp.regionFeats), visPe: float32(inp.visPe) };
    const empty = Array.from({ length: this.#cfg.numLayers }, () => ({
      key: new Float32Array(0),
      value: new Float32Array(0),
    }));
    this.#past = empty;
    this.#pastLen = 0;
    const { logits, present } = await this.#run(step);
    this.#prefix = present; // the prompt's keys/values, per image
    this.#regions = null;
    return logits;
  }

  expand(width: number): void {
    this.#s.expand(width); // the generation cache is still empty: nothing to copy
  }

  async stepLogits(tokens: Numbers): Promise<Float32Array> {
    const { logits, present } = await this.#run(this.#s.step(tokens));
    this.#past = present;
    this.#pastLen++;
    return logits;
  }

  reorder(src: Numbers): void {
    const idx = this.#s.reorder(src), N = idx.length;
    const row = this.#pastLen * this.#cfg.hiddenSize; // NH·HS·g values per sequence
    if (row === 0) return;
    const gather = (a: Float32Array) => {
      const out = new Float32Array(a.length);
      for (let n = 0; n < N; n++) out.set(a.subarray(idx[n] * row, (idx[n] + 1) * row), n * row);
      return out;
    };
    this.#past = this.#past.map((p) => ({ key: gather(p.key), value: gather(p.value) }));
  }

  /** One decoder call; returns [N, V] logits and each layer's present keys/values (g + Lq − 1 positions). */
  async #run(
    step: StepInputs,
  ): Promise<{ logits: Float32Array; present: { key: Float32Array; value: Float32Array }[] }> {
    const c = this.#cfg;
    const t = (type: "float32" | "int64", data: Numbers, dims: number[]) =>
      tensor(this.#ort, type, data, dims);
    const { N, Lq, Lk, start } = step;
    const NH = c.numHeads, HS = c.hiddenSize / NH, F = c.regionFeatureSize, G = c.regionGeometrySize;
    const B = N / step.W, first = start === 0;
    const Rr = first ? c.regions : 0, g = this.#pastLen;
    // The first call has no prefix. An empty one works on wasm, but the WebGPU provider cannot bind the
    // empty buffers of a MatMul over it, so the first call gets one zero prefix column that its mask hides:
    // its softmax weight exp(−10000 − max) is exactly 0 in float32, so the results are unchanged.
    const Ap = first ? 1 : this.promptLength;
    const mask = first ? withHiddenColumn(step.mask, N * Lq, Lk) : step.mask;
    const zeros = new Float32Array(first ? B * NH * HS : 0);
    const positions = Int32Array.from({ length: N * Lq }, (_, i) => start + (i % Lq));
    const feeds: Record<string, Ort.Tensor> = {
      region_feats: t("float32", first ? this.#regions!.feats : [], [N, Rr, F]),
      vis_pe: t("float32", first ? this.#regions!.visPe : [], [N, Rr, G]),
      input_ids: t("int64", step.ids, [N, Lq]),
      segment_ids: t("int64", step.segmentIds, [N, Lq]),
      position_ids: t("int64", positions, [N, Lq]),
      attention_mask: t("float32", mask, [N, Lq, (first ? 1 : 0) + Lk]),
    };
    for (let l = 0; l < c.numLayers; l++) {
      feeds[`prefix_key.${l}`] = t("float32", first ? zeros : this.#prefix[l].key, [B, NH, HS, Ap]);
      feeds[`prefix_value.${l}`] = t("float32", first ? zeros : this.#prefix[l].value, [B, NH, Ap, HS]);
      feeds[`past_key.${l}`] = t("float32", this.#past[l].key, [N, NH, HS, g]);
      feeds[`past_value.${l}`] = t("float32", this.#past[l].value, [N, NH, g, HS]);
    }
    const out = await this.#session.run(feeds);
    const present = Array.from({ length: c.numLayers }, (_, l) => ({
      key: out[`present_key.${l}`].data as Float32Array,
      value: out[`present_value.${l}`].data as Float32Array,
    }));
    return { logits: out.logits.data as Float32Array, present };
  }
}
