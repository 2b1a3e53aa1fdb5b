/**
 * What a training run writes after every epoch, and how a run finds where to continue:
 *
 * - `model.{epoch}.bin`: the VLP state_dict in PyTorch zip format (loadable by the original's `torch.load`;
 *   with label smoothing it also holds `crit_mask_lm_smoothed.one_hot`, as the original's does);
 * - `optim.{epoch}.npz`: our optimiser and loop state: BertAdam's moments (`m.<key>`, `v.<key>`), the
 *   gradients accumulated by micro-batches after the epoch's last update (`grad.<key>`, only when
 *   `--gradient_accumulation_steps` does not divide the epoch), and `state.json` (a uint8 array): epoch,
 *   optimiser step, the RNG states, and the run settings a resumed run must share.
 *
 * Both are written atomically (temporary file + rename), the model first. A checkpoint is complete when
 * both files of an epoch exist and the state file reads back; output_folder.ts decides where a run continues
 * (the newest checkpoint, as the original's `_get_max_epoch_model` does with `model.*.bin` / `optim.*.bin`,
 * and a refusal where the newest cannot be resumed exactly).
 *
 * @module
 */
import { join } from "node:path";
import { type NdArray, readNpz, saveTorchStateDict, writeNpz } from "@vlp/io";
import { type RngState, stateDict, type VlpModel } from "@vlp/model";
import type { BertAdamState } from "./bert_adam.ts";

/** The loop's part of a checkpoint. */
export interface LoopState {
  /** the epoch this checkpoint ends (1-based, as `model.{epoch}.bin`) */
  epoch: number;
  /** micro-batches since the last optimiser update (their gradients are stored) */
  pendingMicroBatches: number;
  /** dropout RNG of the model */
  modelRng: RngState;
  /** further named RNG states (SCST sampling) */
  rngs: Record<string, RngState>;
  /** settings that must match when resuming */
  settings: Record<string, unknown>;
}

/** A full checkpoint as read back. */
export interface RunCheckpoint {
  loop: LoopState;
  optimizer: BertAdamState;
  /** accumulated gradients by parameter key (when pendingMicroBatches > 0) */
  grads: Map<string, Float32Array>;
}

const FORMAT = "vlp-train-state";

/** `model.{epoch}.bin` in a folder. */
export function modelPath(dir: string, epoch: number): string {
  return join(dir, `model.${epoch}.bin`);
}

/** `optim.{epoch}.npz` in a folder. */
export function statePath(dir: string, epoch: number): string {
  return join(dir, `optim.${epoch}.npz`);
}

/** Save the model as `model.{epoch}.bin` (plus the label-smoothing buffer when ε > 0). */
export async function saveModelCheckpoint(
  model: VlpModel,
  path: string,
  opts: { labelSmoothing?: number } = {},
): Promise<void> {
  const sd = await stateDict(model);
  const eps = opts.labelSmoothing ?? 0;
  if (eps > 0) {
    // LabelSmoothingLoss's buffer: ε/(V − 2) everywhere except the ignored id 0, shape [1, V]
    const V = model.config.vocabSize;
    const oneHot = new Float32Array(V).fill(eps / (V - 2));
    oneHot[0] = 0;
    sd.set("crit_mask_lm_smoothed.one_hot", { dtype: "float32", shape: [1, V], data: oneHot });
  }
  await saveTorchStateDict(path, sd);
}

/** Write `optim.{epoch}.npz`. */
export async function saveRunState(
  path: string,
  loop: LoopState,
  optimizer: BertAdamState,
  grads: Map<string, Float32Array> | null,
  shapes: Map<string, readonly number[]>,
): Promise<void> {
  const arrays = new Map<string, NdArray>();
  const json = new TextEncoder().encode(
    JSON.stringify({ format: FORMAT, version: 1, step: optimizer.step, ...loop }),
  );
  arrays.set("state.json", { dtype: "uint8", shape: [json.length], data: json });
  const put = (prefix: string, m: Map<string, Float32Array>) => {
    for (const [k, v] of m) {
      arrays.set(`${prefix}.${k}`, { dtype: "float32", shape: [...(shapes.get(k) ?? [v.length])], data: v });
    }
  };
  put("m", optimizer.m);
  put("v", optimizer.v);
  if (grads) put("grad", grads);
  await writeNpz(path, arrays);
}

/** Read `optim.{epoch}.npz` (SyntaxError naming the file when it is not one of ours). */
export async function loadRunState(path: string): Promise<RunCheckpoint> {
  const arrays = await readNpz(path);
  const raw = arrays.get("state.json");
  if (!raw || !(raw.data instanceof Uint8Array)) {
    throw new SyntaxError(`Cannot read training state "${path}": no "state.json" entry`);
  }
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(new TextDecoder().decode(raw.data));
  } catch (e) {
    throw new SyntaxError(`Cannot read training state "${path}": state.json: ${(e as Error).message}`);
  }
  if (s.format !== FORMAT || s.version !== 1) {
    throw new SyntaxError(`Cannot read training state "${path}": not a ${FORMAT} version 1 file`);
  }
  const need = (k: string, ok: (v: unknown) => boolean) => {
    if (!ok(s[k])) {
      throw new SyntaxError(`Cannot read training state "${path}": state.json "${k}" is invalid`);
    }
  };
  const isInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const isRng = (v: unknown) => Array.isArray(v) && v.length === 4 && v.every(isInt);
  need("epoch", isInt);
  need("step", isInt);
  need("pendingMicroBatches", isInt);
  need("modelRng", isRng);
  need("rngs", (v) => typeof v === "object" && v !== null && Object.values(v).every(isRng));
  need("settings", (v) => typeof v === "object" && v !== null);
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  const grads = new Map<string, Float32Array>();
  for (const [k, a] of arrays) {
    const dot = k.indexOf(".");
    const prefix = k.slice(0, dot), name = k.slice(dot + 1);
    const target = prefix === "m" ? m : prefix === "v" ? v : prefix === "grad" ? grads : null;
    if (!target) continue;
    if (!(a.data instanceof Float32Array)) {
      throw new SyntaxError(`Cannot read training state "${path}": "${k}" is ${a.dtype}, expected float32`);
    }
    target.set(name, a.data);
  }
  return {
    loop: {
      epoch: s.epoch as number,
      pendingMicroBatches: s.pendingMicroBatches as number,
      modelRng: s.modelRng as RngState,
      rngs: s.rngs as Record<string, RngState>,
      settings: s.settings as Record<string, unknown>,
    },
    optimizer: { step: s.step as number, m, v },
    grads,
  };
}
