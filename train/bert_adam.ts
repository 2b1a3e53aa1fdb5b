/**
 * BertAdam (pytorch_pretrained_bert `optimization.py`, spec 8.1) over a {@linkcode VlpModel}'s parameter
 * table, running where the parameters live through the backend op `bertAdamUpdateGroup` (all stepping tensors
 * in one call: on webgpu two dispatches for the whole table).
 *
 * Per tensor and step, as the original:
 * 1. clip the tensor's own gradient to L2 norm `maxGradNorm` (not a global norm);
 * 2. m ← β₁·m + (1 − β₁)·g; v ← β₂·v + (1 − β₂)·g²; update = m/(√v + ε), no bias correction;
 * 3. update += wd·p (decoupled weight decay: 0.01, 0 for every `bias` and `LayerNorm.weight`);
 * 4. p ← p − lr_t·update with lr_t = lr · schedule(step/t_total, warmup) (schedule.ts), then step += 1.
 *
 * Tensors whose gradient PyTorch leaves `None` are skipped entirely (no decay, no moment update, no step):
 * those outside the loss graph of the task. The pooler never takes part in a loss; with the VQA head the
 * masked-LM head (`cls.predictions.*`) does not either ({@linkcode receivesGradient}). Every other tensor
 * steps on every update, so one step counter serves all of them.
 *
 * @example Usage
 * ```ts
 * import { ReferenceBackend, tinyConfig, VlpModel } from "@vlp/model";
 * import { BertAdam } from "@vlp/train";
 * import assert from "node:assert/strict";
 * const model = new VlpModel({ config: tinyConfig, backend: new ReferenceBackend(), seed: 1 });
 * const opt = new BertAdam(model, { lr: 1e-3, warmup: 0.1, tTotal: 10 });
 * assert.equal(opt.currentLr(), 0); // step 0 of warmup_linear
 * ```
 *
 * @module
 */
import type { Backend, Task, Tensor, VlpModel } from "@vlp/model";
import { type Schedule, scheduledLr, SCHEDULES } from "./schedule.ts";

/** Hyper-parameters of {@linkcode BertAdam} (the original's names in comments). */
export interface BertAdamOptions {
  /** base learning rate (`lr`, `--learning_rate`) */
  lr: number;
  /** warm-up proportion of t_total (`warmup`, `--warmup_proportion`; −1: none; default −1) */
  warmup?: number;
  /** total optimiser steps of the schedule (`t_total`; −1: constant lr; default −1) */
  tTotal?: number;
  /** `schedule` / `--sche_mode` (default warmup_linear) */
  schedule?: Schedule;
  /** `b1` (default 0.9) */
  beta1?: number;
  /** `b2` (default 0.999) */
  beta2?: number;
  /** `e` (default 1e-6) */
  eps?: number;
  /** weight decay of the decay group (`weight_decay`; VLP hard-codes 0.01) */
  weightDecay?: number;
  /** per-tensor clip (`max_grad_norm`; ≤ 0 disables; default 1.0) */
  maxGradNorm?: number;
}

/** The optimiser state to save with a checkpoint. */
export interface BertAdamState {
  /** updates done so far (BertAdam's `state['step']` of every stepping tensor) */
  step: number;
  /** first moment per parameter name */
  m: Map<string, Float32Array>;
  /** second moment per parameter name */
  v: Map<string, Float32Array>;
}

/**
 * Whether a parameter receives a gradient (PyTorch: `p.grad is not None`) in training of `task`: the pooler
 * never does; with the VQA head, neither does the masked-LM head (its loss is computed but not returned).
 */
export function receivesGradient(name: string, task: Task): boolean {
  if (name.startsWith("bert.pooler.")) return false;
  if (task === "vqa2" && name.startsWith("cls.predictions.")) return false;
  return true;
}

interface Slot {
  name: string;
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
  weightDecay: number;
}

/** BertAdam over a model's parameters (see the module doc). */
export class BertAdam {
  readonly model: VlpModel;
  readonly options: Required<BertAdamOptions>;
  readonly #be: Backend;
  readonly #mFlat: Tensor;
  readonly #vFlat: Tensor;
  readonly #slots: Slot[];
  #step = 0;

  constructor(model: VlpModel, options: BertAdamOptions, opts: { task?: Task } = {}) {
    const o = {
      warmup: -1,
      tTotal: -1,
      schedule: "warmup_linear" as Schedule,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-6,
      weightDecay: 0.01,
      maxGradNorm: 1.0,
      ...options,
    };
    if (!(o.lr >= 0)) throw new RangeError(`Invalid learning rate: ${o.lr} - should be >= 0.0`);
    if (!SCHEDULES.includes(o.schedule)) {
      throw new RangeError(`Invalid schedule parameter: ${o.schedule} (expected ${SCHEDULES.join(", ")})`);
    }
    if (!((o.warmup >= 0 && o.warmup < 1) || o.warmup === -1)) {
      throw new RangeError(`Invalid warmup: ${o.warmup} - should be in [0.0, 1.0[ or -1`);
    }
    if (!(o.beta1 >= 0 && o.beta1 < 1)) throw new RangeError(`Invalid b1 parameter: ${o.beta1}`);
    if (!(o.beta2 >= 0 && o.beta2 < 1)) throw new RangeError(`Invalid b2 parameter: ${o.beta2}`);
    if (!(o.eps >= 0)) throw new RangeError(`Invalid epsilon value: ${o.eps} - should be >= 0.0`);
    if (!(o.tTotal === -1 || (Number.isInteger(o.tTotal) && o.tTotal > 0))) {
      throw new RangeError(`Invalid t_total: ${o.tTotal} - should be a positive integer or -1`);
    }
    this.options = o;
    this.model = model;
    const be = (this.#be = model.backend);
    const task = opts.task ?? model.task;
    this.#mFlat = be.alloc([model.table.total]);
    this.#vFlat = be.alloc([model.table.total]);
    const params = model.parameterViews(), grads = model.gradientViews();
    this.#slots = model.table.specs.filter((s) => receivesGradient(s.name, task)).map((s) => ({
      name: s.name,
      param: params.get(s.name)!,
      grad: grads.get(s.name)!,
      m: be.view(this.#mFlat, s.offset, s.shape),
      v: be.view(this.#vFlat, s.offset, s.shape),
      weightDecay: s.decay ? o.weightDecay : 0,
    }));
  }

  /** Updates done so far. */
  get stepCount(): number {
    return this.#step;
  }

  /** Names of the tensors that step (in table order). */
  get stepping(): string[] {
    return this.#slots.map((s) => s.name);
  }

  /** The learning rate the next update uses. */
  currentLr(): number {
    const o = this.options;
    return scheduledLr(o.lr, o.schedule, this.#step, o.tTotal, o.warmup);
  }

  /** One update of every stepping tensor from the model's gradients (which are left as they are). */
  step(): void {
    const o = this.options;
    this.#be.bertAdamUpdateGroup({
      tensors: this.#slots,
      lr: this.currentLr(),
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.eps,
      maxGradNorm: o.maxGradNorm,
    });
    this.#step++;
  }

  /** A copy of the state (moments of the stepping tensors, step count). */
  async getState(): Promise<BertAdamState> {
    const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
    for (const s of this.#slots) {
      m.set(s.name, Float32Array.from(await this.#be.read(s.m)));
      v.set(s.name, Float32Array.from(await this.#be.read(s.v)));
    }
    return { step: this.#step, m, v };
  }

  /** Restore a state from {@linkcode BertAdam.getState} (every stepping tensor must be present). */
  setState(state: BertAdamState, source = "optimizer state"): void {
    if (!(Number.isInteger(state.step) && state.step >= 0)) {
      throw new TypeError(`Cannot load ${source}: step ${state.step} is not a non-negative integer`);
    }
    for (const s of this.#slots) {
      for (const [which, map, t] of [["m", state.m, s.m], ["v", state.v, s.v]] as const) {
        const a = map.get(s.name);
        if (!a) throw new TypeError(`Cannot load ${source}: "${which}.${s.name}" is missing`);
        if (a.length !== t.size) {
          throw new TypeError(
            `Cannot load ${source}: "${which}.${s.name}" has ${a.length} elements, expected ${t.size}`,
          );
        }
        this.#be.write(t, a);
      }
    }
    this.#step = state.step;
  }
}
