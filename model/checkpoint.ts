/**
 * VLP checkpoints: strict loading of a state_dict (legacy or zip `torch.save`, read by `@vlp/io`),
 * `from_pretrained`'s adaptation rules for BERT/UniLM initial weights, and saving our parameters back as a
 * VLP state_dict (zip format, `cls.predictions.decoder.weight` stored tied to the word embeddings).
 *
 * Strict loading: every table key must be present with its exact shape, and every key of the file must be
 * known, except the documented ignorable extras ({@linkcode IGNORABLE_KEYS}); a captioning model also
 * ignores `ans_classifier.*` (VQA checkpoints carry every captioning key plus the VQA head). All problems
 * are reported at once in one TypeError listing the missing, unexpected and mis-shaped keys.
 *
 * Pretrained loading (`mode: "pretrained"`, VLP's `from_pretrained`): first the adaptation rules
 * ({@linkcode adaptPretrained}); then table keys absent from the file keep their initial values (the region
 * branches and the VQA head when starting from BERT) and unknown keys are skipped; both are reported.
 * Mis-shaped keys are still errors (VLP only logs them).
 *
 * @example Usage
 * ```ts ignore
 * import { createModel, saveCheckpoint } from "@vlp/model";
 * const model = await createModel({ checkpoint: "model.30.bin", task: "vqa2" });
 * await saveCheckpoint(model, "copy.bin");
 * ```
 *
 * @module
 */
import { loadTorchStateDict, type NdArray, saveTorchStateDict, toFloat32 } from "@vlp/io";
import type { VlpConfig } from "./config.ts";
import { fmtShape } from "./backend.ts";
import { checkParamShape, TIED_KEYS } from "./params.ts";
import { VlpModel, type VlpModelOptions } from "./vlp.ts";

/** Keys a VLP checkpoint may carry that the model does not use (ignored by strict loading). */
export const IGNORABLE_KEYS: readonly RegExp[] = [
  /^crit_mask_lm_smoothed\.one_hot$/, // label-smoothing buffer [1, V]
  /^cls\.seq_relationship\./, // NSP head of pre-2020 checkpoints
];

/** How {@linkcode loadStateDict} treats the file. */
export interface LoadOptions {
  /** "strict" (default) for VLP checkpoints; "pretrained" for BERT/UniLM initial weights. */
  mode?: "strict" | "pretrained";
  /** Name used in messages (the file path). */
  source?: string;
  /** Pretrained mode: slice of a relax-projection LM transform to keep (VLP's task_idx; default 0). */
  taskIdx?: number;
}

/** What a load did. */
export interface LoadReport {
  /** table keys set from the file */
  loaded: string[];
  /** file keys not used (ignorable extras, or unknown keys in pretrained mode) */
  ignored: string[];
  /** table keys kept at their initial values (pretrained mode only) */
  missing: string[];
  /** adaptation steps applied (pretrained mode) */
  adapted: string[];
}

/**
 * VLP's `from_pretrained` adaptation of a BERT/UniLM state_dict to a configuration (returns a new map):
 * `gamma`/`beta` renamed to `weight`/`bias`; the token-type table grown to `typeVocabSize` rows (rows 2, 3, 4
 * copy row 0 and row 5 copies row 1 when it has ≥ 6 rows; further rows are zero) or truncated; the position
 * table tiled or truncated to `maxPositions`; a relax-projection LM transform ([n·C, C] etc.) sliced at
 * `taskIdx` (0 unless 0 ≤ taskIdx ≤ 3, as VLP does).
 */
export function adaptPretrained(
  sd: Map<string, NdArray>,
  config: VlpConfig,
  opts: { taskIdx?: number } = {},
): { sd: Map<string, NdArray>; adapted: string[] } {
  const out = new Map<string, NdArray>();
  const adapted: string[] = [];
  for (const [k, v] of sd) {
    let nk = k;
    if (k.includes("gamma")) nk = k.replace("gamma", "weight");
    if (k.includes("beta")) nk = k.replace("beta", "bias");
    if (nk !== k) adapted.push(`renamed ${k} -> ${nk}`);
    out.set(nk, v);
  }
  const C = config.hiddenSize;
  const rows = (key: string, n: number, fill: (src: Float32Array, dst: Float32Array, r0: number) => void) => {
    const a = out.get(key);
    if (!a || a.shape.length !== 2 || a.shape[0] === n) return;
    const [r0, c] = a.shape;
    const src = toFloat32(a), dst = new Float32Array(n * c);
    dst.set(src.subarray(0, Math.min(r0, n) * c));
    if (n > r0) fill(src, dst, r0);
    out.set(key, { dtype: "float32", shape: [n, c], data: dst });
    adapted.push(`${key}: ${r0} -> ${n} rows`);
  };
  rows("bert.embeddings.token_type_embeddings.weight", config.typeVocabSize, (src, dst, r0) => {
    const c = dst.length / config.typeVocabSize;
    if (config.typeVocabSize >= 6 && r0 >= 2) {
      for (const r of [2, 3, 4]) dst.set(src.subarray(0, c), r * c);
      dst.set(src.subarray(c, 2 * c), 5 * c);
    }
  });
  rows("bert.embeddings.position_embeddings.weight", config.maxPositions, (src, dst, r0) => {
    const c = dst.length / config.maxPositions;
    for (let start = r0; start < config.maxPositions; start += r0) {
      const n = Math.min(r0, config.maxPositions - start);
      dst.set(src.subarray(0, n * c), start * c);
    }
  });
  const dense = out.get("cls.predictions.transform.dense.weight");
  if (dense && dense.shape.length === 2 && dense.shape[0] !== C) {
    if (dense.shape[0] % C !== 0) {
      throw new TypeError(
        `Cannot adapt pretrained weights: cls.predictions.transform.dense.weight has shape ${
          fmtShape(dense.shape)
        }, ` +
          `not a multiple of hidden size ${C}`,
      );
    }
    const n = dense.shape[0] / C;
    const t = opts.taskIdx !== undefined && opts.taskIdx >= 0 && opts.taskIdx <= 3 ? opts.taskIdx : 0;
    if (t >= n) {
      throw new RangeError(`Cannot adapt pretrained weights: task index ${t} but only ${n} projections`);
    }
    const slice = (key: string, width: number, shape: number[]) => {
      const a = out.get(key);
      if (!a) return;
      const d = toFloat32(a);
      if (d.length !== n * width) {
        throw new TypeError(
          `Cannot adapt pretrained weights: ${key} has shape ${
            fmtShape(a.shape)
          }, expected ${n}·${width} elements`,
        );
      }
      out.set(key, { dtype: "float32", shape, data: d.slice(t * width, (t + 1) * width) });
    };
    slice("cls.predictions.transform.dense.weight", C * C, [C, C]);
    for (const k of ["dense.bias", "LayerNorm.weight", "LayerNorm.bias"]) {
      slice(`cls.predictions.transform.${k}`, C, [C]);
    }
    adapted.push(`relax projection: kept slice ${t} of ${n}`);
  }
  return { sd: out, adapted };
}

/** Load a state_dict into a model's parameters (see the module doc for the two modes). */
export function loadStateDict(
  model: VlpModel,
  input: Map<string, NdArray>,
  opts: LoadOptions = {},
): LoadReport {
  const mode = opts.mode ?? "strict";
  const source = opts.source ?? "state_dict";
  const what = `checkpoint "${source}"`;
  let sd = input, adapted: string[] = [];
  if (mode === "pretrained") {
    ({ sd, adapted } = adaptPretrained(input, model.config, { taskIdx: opts.taskIdx }));
  }
  const table = model.table;
  const values = new Map<string, NdArray>();
  const ignored: string[] = [], unexpected: string[] = [], misShaped: string[] = [];
  for (const [key, arr] of sd) {
    if (table.has(key)) {
      const spec = table.get(key);
      try {
        checkParamShape(spec, arr.shape, what);
      } catch {
        misShaped.push(`${key} ${fmtShape(arr.shape)} (expected ${fmtShape(spec.shape)})`);
        continue;
      }
      if (TIED_KEYS[key]) continue; // checked below
      values.set(key, arr);
    } else if (
      IGNORABLE_KEYS.some((r) => r.test(key)) ||
      (model.task === "img2txt" && key.startsWith("ans_classifier.")) ||
      mode === "pretrained"
    ) {
      ignored.push(key);
    } else {
      unexpected.push(key);
    }
  }
  // the tied decoder: use it when the word embeddings are absent, else it must equal them
  for (const [tied, base] of Object.entries(TIED_KEYS)) {
    const t = sd.get(tied);
    if (!t || misShaped.some((m) => m.startsWith(`${tied} `))) continue;
    const b = values.get(base);
    if (!b) values.set(base, t);
    else if (b.data !== t.data && !sameValues(toFloat32(b), toFloat32(t))) {
      misShaped.push(`${tied} (differs from the tied ${base})`);
    }
  }
  const inFile = (k: string) => values.has(k) || [...sd.keys()].some((f) => f === k || TIED_KEYS[f] === k);
  const missing = table.specs.map((s) => s.name).filter((k) => !inFile(k));
  const problems: string[] = [];
  if (mode === "strict" && missing.length) problems.push(`missing keys: ${missing.join(", ")}`);
  if (unexpected.length) problems.push(`unexpected keys: ${unexpected.join(", ")}`);
  if (misShaped.length) problems.push(`mis-shaped keys: ${misShaped.join(", ")}`);
  if (problems.length) throw new TypeError(`Cannot load ${what}: ${problems.join("; ")}`);
  // write the values into the flat parameter buffer
  const be = model.backend;
  const views = model.parameterViews();
  for (const [key, arr] of values) be.write(views.get(key)!, toFloat32(arr));
  return { loaded: [...values.keys()], ignored, missing: mode === "strict" ? [] : missing, adapted };
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Read a checkpoint file (legacy or zip) and {@linkcode loadStateDict} it. */
export async function loadCheckpoint(
  model: VlpModel,
  path: string,
  opts: LoadOptions = {},
): Promise<LoadReport> {
  const sd = await loadTorchStateDict(path);
  return loadStateDict(model, sd, { source: path, ...opts });
}

/**
 * The model's parameters as a VLP state_dict (float32, table order, `cls.predictions.decoder.weight` sharing
 * the word embeddings' data so that it is saved once and loads tied).
 */
export async function stateDict(model: VlpModel): Promise<Map<string, NdArray>> {
  const flat = await model.backend.read(model.params);
  const data = flat instanceof Float32Array ? flat : Float32Array.from(flat);
  const sd = new Map<string, NdArray>();
  for (const s of model.table.specs) {
    sd.set(s.name, {
      dtype: "float32",
      shape: [...s.shape],
      data: data.subarray(s.offset, s.offset + s.size),
    });
  }
  for (const [tied, base] of Object.entries(TIED_KEYS)) sd.set(tied, sd.get(base)!);
  return sd;
}

/** Save the model as a VLP checkpoint (PyTorch zip format, atomic write). */
export async function saveCheckpoint(model: VlpModel, path: string): Promise<void> {
  await saveTorchStateDict(path, await stateDict(model));
}

/** Options of {@linkcode createModel}. */
export interface CreateModelOptions extends VlpModelOptions {
  /** Strictly load this VLP checkpoint (legacy or zip). */
  checkpoint?: string;
  /** Or start from BERT/UniLM weights with `from_pretrained`'s adaptation (the rest keeps its init). */
  pretrained?: string;
  /** Relax-projection slice for `pretrained` (VLP's task_idx). */
  taskIdx?: number;
}

/** Create a model: random init (seeded), or from a checkpoint / pretrained weights. */
export async function createModel(opts: CreateModelOptions = {}): Promise<VlpModel> {
  if (opts.checkpoint && opts.pretrained) {
    throw new TypeError("Cannot create model: give either checkpoint or pretrained, not both");
  }
  const model = new VlpModel({ ...opts, noInit: opts.noInit ?? opts.checkpoint !== undefined });
  if (opts.checkpoint) await loadCheckpoint(model, opts.checkpoint);
  if (opts.pretrained) {
    await loadCheckpoint(model, opts.pretrained, { mode: "pretrained", taskIdx: opts.taskIdx });
  }
  return model;
}
