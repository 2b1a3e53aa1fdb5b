/**
 * Parity of the model with the ORIGINAL VLP code on a reference fixture directory (the format of
 * `../shared/fixtures/vlp-tiny/`: manifest.json + npy/npz + model.bin). Everything is derived from the
 * manifest (configuration, shapes, which entries exist), so fixtures of other sizes and seeds work; checks
 * whose fixture entries are absent are skipped.
 *
 * Checks (named after the fixture entry they compare) and tolerances (fixtures/README.md):
 * - forward tensors `vis_embed_out`, `vis_pe_embed_out`, `embedding_output_s2s`, `sequence_output_{s2s,bi}`,
 *   `pooled_output_{s2s,bi}`: |a − e| ≤ 1e-4;
 * - logits `mlm_scores_s2s`, `vqa_logits`: |a − e| ≤ 1e-4 + 1e-4·|e|;
 * - losses `mlm_loss_s2s_drop0`, `mlm_loss_s2s_drop0.2`, `mlm_loss_bi_drop0`, `vqa_loss`: relative 1e-5;
 * - `vqa_pred_idx` (argmax over logits[1:] + 1): exactly equal;
 * - gradients `grads_s2s:<key>` (of `mlm_loss_s2s_drop0`, dropout off): |a − e| ≤ 1e-4·max(max|e|, 1e-3).
 *   `attention.self.key.bias` is zero in exact arithmetic (softmax ignores a constant added to every key), so
 *   its fixture values are float32 noise: it is compared with an absolute floor scaled by the gradient of the
 *   same layer's `key.weight`, |a − e| ≤ 1e-5·max|e(key.weight)| (model/README.md "Parity tolerances": the
 *   noise measured on every backend and on the original is at most 5e-7 of that scale). `vis_embed.0.weight`
 *   holds its first rows only; the same rows are compared. A gradient failing these tolerances is re-judged
 *   by the float32 sensitivity rule ({@linkcode excuseBySensitivity}) against a float64 twin's gradients (a
 *   `reference64` forward + backward, run only then).
 *
 * `maxAbs` is the largest |a − e|; `maxRel` is maxAbs / max|e| (relative to the tensor's largest magnitude).
 *
 * @module
 */
import { join } from "node:path";
import { loadTorchStateDict, type NdArray, readNpyFile, readNpz, toFloat32 } from "@vlp/io";
import type { Backend, Tensor } from "./backend.ts";
import { parseConfig, type VlpConfig } from "./config.ts";
import { loadStateDict } from "./checkpoint.ts";
import { VlpModel } from "./vlp.ts";
import { ReferenceBackend } from "./backends/reference.ts";
import { vqaPredictions } from "./predict.ts";
import type { Batch } from "./batch.ts";

/** One comparison. */
export interface ParityCheck {
  /** fixture entry name, e.g. `sequence_output_s2s` or `grads_s2s:bert.pooler.dense.weight` */
  name: string;
  maxAbs: number;
  /** maxAbs / max|expected| */
  maxRel: number;
  pass: boolean;
  /** the criterion, for the human-readable report */
  tolerance: string;
  /** a copy of the values compared (for `deno task parity --report`'s distances between two runs) */
  actual?: Float64Array;
  /** max|expected| */
  scale?: number;
  /**
   * Set when the check failed its fixed tolerance and passes by the float32 sensitivity rule
   * ({@linkcode excuseBySensitivity}; train's BertAdam losses: the replay rule of train/parity.ts, whose
   * `spread` is the loss's float32 sensitivity S_k): the distances from the float64 twin that excused it.
   */
  excused?: { oursVsF64: number; originalVsF64: number; floor: number; spread?: number };
  /**
   * The same check on the float64 twin, when the member ran one anyway (train's BertAdam): `--report` takes
   * the twin's distances from it instead of running the member again on `reference64`.
   */
  twin?: ParityCheck;
}

/** The fixture's manifest.json (fields used here). */
export interface FixtureManifest {
  config: Record<string, unknown>;
  arrays: Record<string, { shape?: number[]; dtype?: string; note?: string }>;
  values: Record<string, unknown>;
  state_dict_keys?: Record<string, number[]>;
  checkpoint_format?: string;
}

/** Read a fixture's manifest.json. */
export async function readManifest(dir: string): Promise<FixtureManifest> {
  const path = join(dir, "manifest.json");
  let m: unknown;
  try {
    m = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new SyntaxError(`Cannot read fixture manifest "${path}": ${(e as Error).message}`);
  }
  const o = m as FixtureManifest;
  if (!o || typeof o !== "object" || typeof o.config !== "object" || typeof o.arrays !== "object") {
    throw new SyntaxError(`Cannot read fixture manifest "${path}": expected fields "config" and "arrays"`);
  }
  o.values ??= {};
  return o;
}

/** The model configuration a fixture manifest describes (sizes not in its config come from array shapes). */
export function fixtureConfig(m: FixtureManifest): VlpConfig {
  const c = m.config as Record<string, number | string | undefined>;
  const num = (k: string) => (typeof c[k] === "number" ? (c[k] as number) : undefined);
  const sdk = m.state_dict_keys ?? {};
  const feats = m.arrays["region_feats"]?.shape, visPe = m.arrays["vis_pe"]?.shape;
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return parseConfig(defined({
    vocabSize: num("vocab_size"),
    hiddenSize: num("hidden_size"),
    numLayers: num("num_hidden_layers"),
    numHeads: num("num_attention_heads"),
    intermediateSize: num("intermediate_size"),
    typeVocabSize: num("type_vocab_size"),
    maxPositions: num("max_position_embeddings"),
    layerNormEps: num("layer_norm_eps"),
    initializerRange: num("initializer_range"),
    regions: num("len_vis_input") ?? feats?.[1],
    regionFeatureSize: feats?.[2],
    regionGeometrySize: visPe?.[2],
    regionHiddenSize: sdk["vis_embed.0.weight"]?.[0],
    numAnswers: sdk["ans_classifier.2.weight"]?.[0],
  }));
}

/** int64/int32 fixture arrays as Int32Array (ids, positions). */
export function toInt32(a: NdArray): Int32Array {
  if (a.data instanceof BigInt64Array) {
    const out = new Int32Array(a.data.length);
    for (let i = 0; i < out.length; i++) out[i] = Number(a.data[i]);
    return out;
  }
  return Int32Array.from(toFloat32(a));
}

/** A tolerance |a − e| ≤ atol + rtol·|e| and its description for reports. */
export interface Tolerance {
  atol: number;
  rtol: number;
  tolerance: string;
}

/**
 * One check: pass when |a − e| ≤ atol + rtol·|e| everywhere (NaN fails); `maxAbs`, `maxRel` as in the module
 * doc; a length mismatch fails.
 */
export function compare(
  name: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): ParityCheck {
  if (actual.length !== expected.length) {
    return {
      name,
      maxAbs: Infinity,
      maxRel: Infinity,
      pass: false,
      tolerance: `length ${actual.length} vs ${expected.length}`,
    };
  }
  let maxAbs = 0, maxE = 0, pass = true;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], d = Math.abs(actual[i] - e);
    const dd = Number.isNaN(d) ? Infinity : d;
    if (dd > maxAbs) maxAbs = dd;
    if (Math.abs(e) > maxE) maxE = Math.abs(e);
    if (!(dd <= tol.atol + tol.rtol * Math.abs(e))) pass = false;
  }
  return {
    name,
    maxAbs,
    maxRel: maxE > 0 ? maxAbs / maxE : maxAbs === 0 ? 0 : Infinity,
    pass,
    tolerance: tol.tolerance,
    actual: Float64Array.from(actual),
    scale: maxE,
  };
}

const FORWARD = { atol: 1e-4, rtol: 0, tolerance: "|a-e| <= 1e-4" };
const LOGITS = { atol: 1e-4, rtol: 1e-4, tolerance: "|a-e| <= 1e-4 + 1e-4|e|" };
/** The fixtures' tolerances (fixtures/README.md) for forward tensors, logits and exact values (ids). */
export const TOLERANCES: { forward: Tolerance; logits: Tolerance; exact: Tolerance } = {
  forward: FORWARD,
  logits: LOGITS,
  exact: { atol: 0, rtol: 0, tolerance: "exactly equal" },
};
/** The fixtures' loss tolerance: relative 1e-5 of the expected value `e`. */
export function lossTolerance(e: number): Tolerance {
  return { atol: 0, rtol: 1e-5, tolerance: `relative 1e-5 (|e| = ${e})` };
}
const LOSS = lossTolerance;
function maxAbsOf(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]) > m) m = Math.abs(a[i]);
  return m;
}
function gradTol(expected: Float32Array) {
  const atol = 1e-4 * Math.max(maxAbsOf(expected), 1e-3);
  return { atol, rtol: 0, tolerance: `|a-e| <= 1e-4*max(max|e|, 1e-3) = ${atol.toExponential(2)}` };
}
/** The key bias of attention: its gradient is zero in exact arithmetic (see the module doc). */
const ZERO_GRADIENT = /^(.*attention\.self\.key)\.bias$/;
/** The floor of a gradient that is zero in exact arithmetic: 1e-5 of its layer's weight gradient. */
function zeroGradTol(weightGrad: ArrayLike<number>): Tolerance {
  const atol = 1e-5 * maxAbsOf(weightGrad);
  return {
    atol,
    rtol: 0,
    tolerance: `zero in exact arithmetic: |a-e| <= 1e-5*max|e(key.weight)| = ${atol.toExponential(2)}`,
  };
}

/**
 * The float32 sensitivity rule (model/README.md "Parity tolerances"), the same for every fixture: a check that
 * failed its fixed tolerance passes when the float64 twin `f64` (the same computation on `reference64`) shows
 * that the original's float32 values are themselves that far from exact arithmetic and ours are not clearly
 * farther: max|a − f64| ≤ 2·max|e − f64| + floor, `floor` the check's fixed tolerance (so ours is at most the
 * fixed tolerance farther from exact arithmetic than twice the original). A defect is "ours clearly farther
 * from float64 than the original". Returns the check, excused (pass, `excused` distances and the rule in
 * `tolerance`) or unchanged (the distances added to `tolerance`).
 */
export function excuseBySensitivity(
  c: ParityCheck,
  expected: ArrayLike<number>,
  f64: ArrayLike<number>,
  floor: number,
): ParityCheck {
  const a = c.actual;
  if (c.pass || !a || a.length !== expected.length || f64.length !== a.length) return c;
  let ours = 0, original = 0;
  for (let i = 0; i < a.length; i++) {
    ours = Math.max(ours, Math.abs(a[i] - f64[i]));
    original = Math.max(original, Math.abs(expected[i] - f64[i]));
  }
  if (!(ours <= 2 * original + floor)) {
    return {
      ...c,
      tolerance: `${c.tolerance}; not excused: ours vs f64 ${ours.toExponential(2)} > 2·original vs f64 ${
        original.toExponential(2)
      } + ${floor.toExponential(2)}`,
    };
  }
  return {
    ...c,
    pass: true,
    excused: { oursVsF64: ours, originalVsF64: original, floor },
    tolerance: `${c.tolerance}; EXCUSED by float32 sensitivity: ours vs f64 ${
      ours.toExponential(2)
    } <= 2·original vs f64 ${original.toExponential(2)} + ${floor.toExponential(2)}`,
  };
}

/** Cached access to a fixture directory's `.npy` arrays (ids as int32, values as float32). */
export interface FixtureArrays {
  /** Whether the manifest lists the array. */
  has(key: string): boolean;
  f32(key: string): Promise<Float32Array>;
  i32(key: string): Promise<Int32Array>;
}

/** {@linkcode FixtureArrays} of a fixture directory and its manifest. */
export function fixtureArrays(dir: string, m: FixtureManifest): FixtureArrays {
  const cache = new Map<string, NdArray>();
  const arr = async (k: string) => {
    let a = cache.get(k);
    if (!a) {
      a = await readNpyFile(join(dir, `${k}.npy`));
      cache.set(k, a);
    }
    return a;
  };
  return {
    has: (k) => k in m.arrays,
    f32: async (k) => toFloat32(await arr(k)),
    i32: async (k) => toInt32(await arr(k)),
  };
}

/**
 * The fixture's training batch with the `mode` masks (`input_ids`, `segment_ids_<mode>`,
 * `attention_mask_<mode>`, the region inputs, and the masked positions when present); null when the fixture
 * has no masks of that mode.
 */
export async function fixtureBatch(a: FixtureArrays, mode: "s2s" | "bi"): Promise<Batch | null> {
  if (!a.has(`attention_mask_${mode}`)) return null;
  return {
    regionFeats: await a.f32("region_feats"),
    visPe: await a.f32("vis_pe"),
    inputIds: await a.i32("input_ids"),
    segmentIds: await a.i32(`segment_ids_${mode}`),
    attentionMask: await a.f32(`attention_mask_${mode}`),
    ...(a.has("masked_pos")
      ? {
        maskedPos: await a.i32("masked_pos"),
        maskedIds: await a.i32("masked_ids"),
        maskedWeights: await a.f32("masked_weights"),
      }
      : {}),
  };
}

/** A failed check for a fixture entry that names a parameter the model lacks. */
export function missingParameter(name: string): ParityCheck {
  return { name, maxAbs: Infinity, maxRel: Infinity, pass: false, tolerance: "no such parameter" };
}

/** A list of checks that logs each one as it is added (`ok`/`FAIL`, max errors, tolerance). */
export function checkList(
  log: (line: string) => void,
): { checks: ParityCheck[]; add: (c: ParityCheck) => void } {
  const checks: ParityCheck[] = [];
  const add = (c: ParityCheck) => {
    checks.push(c);
    log(
      `${c.pass ? "ok  " : "FAIL"} ${c.name}: max abs ${c.maxAbs.toExponential(3)}, max rel ${
        c.maxRel.toExponential(3)
      } (${c.tolerance})`,
    );
  };
  return { checks, add };
}

/** Options of {@linkcode modelParityChecks}. */
export interface ParityOptions {
  /** progress lines (default: none) */
  log?: (line: string) => void;
}

/** Run every model check the fixture supports on a backend (see the module doc). */
export async function modelParityChecks(
  fixtureDir: string,
  backend: Backend,
  opts: ParityOptions = {},
): Promise<ParityCheck[]> {
  const log = opts.log ?? (() => {});
  const m = await readManifest(fixtureDir);
  const config = fixtureConfig(m);
  const { has, f32, i32 } = fixtureArrays(fixtureDir, m);
  const read = async (t: Tensor) => await backend.read(t);
  const { checks, add } = checkList(log);

  log(`loading ${join(fixtureDir, "model.bin")}`);
  const sd = await loadTorchStateDict(join(fixtureDir, "model.bin"));
  const hasVqa = sd.has("ans_classifier.0.weight");
  const cap = new VlpModel({ config, task: "img2txt", backend, noInit: true });
  loadStateDict(cap, sd, { source: join(fixtureDir, "model.bin") });

  const arrays = fixtureArrays(fixtureDir, m);
  const batchOf = (mode: "s2s" | "bi") => fixtureBatch(arrays, mode);

  // ---- forward tensors ----------------------------------------------------------------------------------
  for (const mode of ["s2s", "bi"] as const) {
    const batch = await batchOf(mode);
    if (!batch) continue;
    log(`forward (${mode})`);
    const out = cap.forward(batch);
    if (mode === "s2s") {
      if (has("vis_embed_out")) {
        add(compare("vis_embed_out", await read(out.visEmbed), await f32("vis_embed_out"), FORWARD));
      }
      if (has("vis_pe_embed_out")) {
        add(compare("vis_pe_embed_out", await read(out.visPeEmbed), await f32("vis_pe_embed_out"), FORWARD));
      }
    }
    for (
      const [name, t] of [
        ["embedding_output", out.embeddingOutput],
        ["sequence_output", out.sequenceOutput],
        ["pooled_output", out.pooled],
      ] as const
    ) {
      const k = `${name}_${mode}`;
      if (has(k)) add(compare(k, await read(t), await f32(k), FORWARD));
    }
    const k = `mlm_scores_${mode}`;
    if (has(k) && out.mlmScores) add(compare(k, await read(out.mlmScores), await f32(k), LOGITS));
  }

  // ---- masked-LM losses ---------------------------------------------------------------------------------
  for (const [key, value] of Object.entries(m.values)) {
    const match = /^mlm_loss_(s2s|bi)_drop([0-9.]+)$/.exec(key);
    if (!match || typeof value !== "number") continue;
    const batch = await batchOf(match[1] as "s2s" | "bi");
    if (!batch) continue;
    log(`loss ${key}`);
    const loss = await cap.readScalar(cap.loss(batch, { dropWorstRatio: Number(match[2]) }));
    add(compare(key, [loss], [value], LOSS(value)));
  }

  // ---- gradients ----------------------------------------------------------------------------------------
  const s2s = await batchOf("s2s");
  if (s2s && (has("grads_s2s.npz") || await exists(join(fixtureDir, "grads_s2s.npz")))) {
    log("forward + backward (s2s)");
    const expected = await readNpz(join(fixtureDir, "grads_s2s.npz"));
    cap.zeroGrad();
    cap.forwardBackward(s2s, { dropout: false });
    const grads = cap.gradientViews();
    const failing: { check: ParityCheck; expected: Float32Array; floor: number }[] = [];
    for (const [key, e] of expected) {
      const t = grads.get(key);
      const ev = toFloat32(e);
      if (!t) {
        add(missingParameter(`grads_s2s:${key}`));
        continue;
      }
      // a fixture may store only the first rows of a large gradient
      const a = (await read(t)).subarray(0, ev.length);
      const zero = ZERO_GRADIENT.exec(key), w = zero && expected.get(`${zero[1]}.weight`);
      const tol = w ? zeroGradTol(toFloat32(w)) : gradTol(ev);
      const c = compare(`grads_s2s:${key}`, a, ev, tol);
      // checks failing the fixed tolerance wait for the float64 twin's verdict (sensitivity rule)
      if (c.pass || backend.floatType === "float64") add(c);
      else failing.push({ check: c, expected: ev, floor: tol.atol });
    }
    if (failing.length > 0) {
      log(
        `${failing.length} gradient checks fail the fixed tolerance: forward + backward on the float64 twin`,
      );
      const twin = new VlpModel({
        config,
        task: "img2txt",
        backend: new ReferenceBackend({ precision: "float64" }),
        noInit: true,
      });
      loadStateDict(twin, sd, { source: join(fixtureDir, "model.bin") });
      twin.forwardBackward(s2s, { dropout: false });
      const tg = twin.gradientViews();
      for (const { check, expected: ev, floor } of failing) {
        const t = tg.get(check.name.slice("grads_s2s:".length))!;
        const f64 = (await twin.backend.read(t)).subarray(0, ev.length);
        add(excuseBySensitivity(check, ev, f64, floor));
      }
    }
  }

  // ---- VQA ----------------------------------------------------------------------------------------------
  if (hasVqa && has("vqa_input_ids")) {
    const vqa = new VlpModel({ config, task: "vqa2", backend, noInit: true });
    loadStateDict(vqa, sd, { source: join(fixtureDir, "model.bin") });
    const batch: Batch = {
      regionFeats: await f32("region_feats"),
      visPe: await f32("vis_pe"),
      inputIds: await i32("vqa_input_ids"),
      segmentIds: await i32("vqa_segment_ids"),
      attentionMask: await f32("vqa_attention_mask"),
      ...(has("vqa_answer_scores") ? { answerTargets: await f32("vqa_answer_scores") } : {}),
    };
    log("forward (vqa)");
    const logits = await read(vqa.forward(batch).vqaLogits!);
    if (has("vqa_logits")) add(compare("vqa_logits", logits, await f32("vqa_logits"), LOGITS));
    if (has("vqa_pred_idx")) {
      const pred = vqaPredictions(logits, config.numAnswers);
      add(
        compare("vqa_pred_idx", pred, await i32("vqa_pred_idx"), TOLERANCES.exact),
      );
    }
    const v = m.values["vqa_loss"];
    if (typeof v === "number" && batch.answerTargets) {
      log("loss vqa_loss");
      add(compare("vqa_loss", [await vqa.readScalar(vqa.loss(batch))], [v], LOSS(v)));
    }
  }
  return checks;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
