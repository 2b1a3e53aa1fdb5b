/**
 * The `onnx` inference engine: an exported model directory (`exportOnnx`) run by onnxruntime-web.
 *
 * - {@linkcode OnnxModel.load} reads `vlp_onnx.json`; the encoder and decoder sessions are created on first
 *   use (each holds its own copy of the weights).
 * - {@linkcode OnnxModel.forward}: the evaluation forward of a {@linkcode Batch} (sequence output, pooled
 *   output, MLM scores at `maskedPos`, VQA logits for a vqa2 export) as host arrays;
 *   {@linkcode OnnxModel.vqaLogits} is the VQA inference path.
 * - {@linkcode OnnxDecoder}: the {@linkcode DecodingEngine} of `@vlp/model` on the decoder graph, so greedy and
 *   beam search written against that interface run with ONNX Runtime doing the compute. The prompt's
 *   keys/values stay per image (`prefix_kv`); each sequence's generated keys/values (`past_kv`) come back
 *   from every step as `present_kv` and are fed to the next, gathered by `reorder` for beam search.
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
} from "@vlp/model";
import { type OnnxManifest, readOnnxManifest } from "./export.ts";
import { createSession, loadRuntime, type OrtRuntime, type RuntimeOptions } from "./runtime.ts";

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
  #prefix: Float32Array = new Float32Array(0); // [NL, B, A, 2C]
  #past: Float32Array = new Float32Array(0); // [NL, N, g, 2C]
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
    const step = this.#s.start(inp);
    this.#regions = { feats: float32(inp.regionFeats), visPe: float32(inp.visPe) };
    this.#prefix = new Float32Array(0);
    this.#past = new Float32Array(0);
    this.#pastLen = 0;
    const { logits, present } = await this.#run(step);
    this.#prefix = present; // the prompt's keys/values: [NL, B, A, 2C]
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
    const row = this.#pastLen * 2 * this.#cfg.hiddenSize, NL = this.#cfg.numLayers;
    if (row === 0) return;
    const out = new Float32Array(this.#past.length);
    for (let l = 0; l < NL; l++) {
      for (let n = 0; n < N; n++) {
        const from = (l * N + idx[n]) * row;
        out.set(this.#past.subarray(from, from + row), (l * N + n) * row);
      }
    }
    this.#past = out;
  }

  /** One decoder call; returns [N, V] logits and the present keys/values [NL, N, g + Lq − 1, 2C]. */
  async #run(step: StepInputs): Promise<{ logits: Float32Array; present: Float32Array }> {
    const c = this.#cfg;
    const t = (type: "float32" | "int64", data: Numbers, dims: number[]) =>
      tensor(this.#ort, type, data, dims);
    const { N, Lq, Lk, start } = step;
    const C2 = 2 * c.hiddenSize, NL = c.numLayers, F = c.regionFeatureSize, G = c.regionGeometrySize;
    const B = N / step.W, first = start === 0;
    const Rr = first ? c.regions : 0;
    const positions = Int32Array.from({ length: N * Lq }, (_, i) => start + (i % Lq));
    const feeds = {
      region_feats: t("float32", first ? this.#regions!.feats : [], [N, Rr, F]),
      vis_pe: t("float32", first ? this.#regions!.visPe : [], [N, Rr, G]),
      input_ids: t("int64", step.ids, [N, Lq]),
      segment_ids: t("int64", step.segmentIds, [N, Lq]),
      position_ids: t("int64", positions, [N, Lq]),
      attention_mask: t("float32", step.mask, [N, Lq, Lk]),
      prefix_kv: t("float32", this.#prefix, [NL, B, first ? 0 : this.promptLength, C2]),
      past_kv: t("float32", this.#past, [NL, N, this.#pastLen, C2]),
    };
    const out = await this.#session.run(feeds);
    return { logits: out.logits.data as Float32Array, present: out.present_kv.data as Float32Array };
  }
}
