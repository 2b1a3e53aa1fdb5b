/**
 * BertAdam parity with the ORIGINAL optimiser on a reference fixture directory (`../shared/fixtures/vlp-tiny`
 * format): the captioning model loaded from `model.bin` takes `values.bertadam.steps` BertAdam updates on the
 * seq2seq batch (dropout off, drop-worst 0), with the hyper-parameters of `values.bertadam`.
 *
 * Checks:
 * - `bertadam_loss_trajectory[k]`: the loss before update k, relative 1e-5 (the loss tolerance of
 *   fixtures/README.md). Its first two values are equal: at step 0 warmup_linear gives lr 0.
 * - `bertadam_params:<key>`: every tensor of `params_after_bertadam3.npz` after the updates. A tensor the
 *   original left untouched (the pooler: outside every loss, so its gradient is `None` and BertAdam skips
 *   it) must be bit-identical to its initial value. Elsewhere an element passes when
 *   |a − e| ≤ 1e-5 + 1e-3·|e − e₀| (e₀: the value before training; updates move parameters by about 9e-3),
 *   and a tensor passes when at most 0.5% of its elements fail that bound and none is off by more than 1e-4
 *   (about 1% of the movement). The exceptions are elements whose gradient nearly cancels between steps:
 *   Adam's normalisation m/(√v + ε) turns float32 rounding differences of such gradients (the model's own
 *   gradient parity is 1e-4 of a tensor's largest entry) into movement differences of up to ~2e-5.
 *
 * @module
 */
import { join } from "node:path";
import { readNpz, toFloat32 } from "@vlp/io";
import { type Backend, loadCheckpoint, VlpModel } from "@vlp/model";
import {
  checkList,
  compare,
  fixtureArrays,
  fixtureBatch,
  fixtureConfig,
  lossTolerance,
  missingParameter,
  type ParityCheck,
  readManifest,
} from "@vlp/model/parity";
import { BertAdam } from "./bert_adam.ts";
import { type Schedule, SCHEDULES } from "./schedule.ts";

/** The fixture's `values.bertadam` entry. */
interface FixtureBertAdam {
  lr: number;
  warmup: number;
  t_total: number;
  schedule: string;
  b1: number;
  b2: number;
  e: number;
  max_grad_norm: number;
  weight_decay: number;
  no_decay?: string[];
  steps: number;
}

function fixtureHyper(v: unknown, file: string): FixtureBertAdam {
  const o = v as Record<string, unknown> | undefined;
  const nums = ["lr", "warmup", "t_total", "b1", "b2", "e", "max_grad_norm", "weight_decay", "steps"];
  if (!o || typeof o !== "object") throw new TypeError(`"${file}": values.bertadam is missing`);
  for (const k of nums) {
    if (typeof o[k] !== "number") throw new TypeError(`"${file}": values.bertadam.${k} is not a number`);
  }
  if (!SCHEDULES.includes(o.schedule as Schedule)) {
    throw new TypeError(`"${file}": values.bertadam.schedule "${o.schedule}" is unknown`);
  }
  return o as unknown as FixtureBertAdam;
}

/** Run the BertAdam checks a fixture supports on a backend (none when it has no BertAdam values). */
export async function bertAdamParityChecks(
  fixtureDir: string,
  backend: Backend,
  opts: { log?: (line: string) => void } = {},
): Promise<ParityCheck[]> {
  const log = opts.log ?? (() => {});
  const m = await readManifest(fixtureDir);
  const manifestPath = join(fixtureDir, "manifest.json");
  if (!("bertadam" in m.values)) return [];
  const h = fixtureHyper(m.values.bertadam, manifestPath);
  const trajectory = m.values.bertadam_loss_trajectory as number[] | undefined;
  const batch = await fixtureBatch(fixtureArrays(fixtureDir, m), "s2s");
  if (!batch?.maskedPos) {
    throw new TypeError(`"${manifestPath}": BertAdam values need the s2s masks and masked positions`);
  }

  const model = new VlpModel({ config: fixtureConfig(m), task: "img2txt", backend, noInit: true });
  await loadCheckpoint(model, join(fixtureDir, "model.bin"));
  const before = await namedHostCopies(model);
  const opt = new BertAdam(model, {
    lr: h.lr,
    warmup: h.warmup,
    tTotal: h.t_total,
    schedule: h.schedule as Schedule,
    beta1: h.b1,
    beta2: h.b2,
    eps: h.e,
    maxGradNorm: h.max_grad_norm,
    weightDecay: h.weight_decay,
  });
  const { checks, add } = checkList(log);
  log(`BertAdam: ${h.steps} steps, lr ${h.lr}, ${h.schedule}, warmup ${h.warmup}, t_total ${h.t_total}`);
  for (let k = 0; k < h.steps; k++) {
    model.zeroGrad();
    const loss = await model.readScalar(model.forwardBackward(batch, { dropout: false }));
    const e = trajectory?.[k];
    if (typeof e === "number") {
      add(compare(`bertadam_loss_trajectory[${k}]`, [loss], [e], lossTolerance(e)));
    }
    opt.step();
  }

  const expected = await readNpz(join(fixtureDir, "params_after_bertadam3.npz"));
  const views = model.parameterViews();
  for (const [key, e] of expected) {
    const t = views.get(key), e0 = before.get(key);
    if (!t || !e0) {
      add(missingParameter(`bertadam_params:${key}`));
      continue;
    }
    add(compareParams(`bertadam_params:${key}`, await backend.read(t), toFloat32(e), e0));
  }
  return checks;
}

async function namedHostCopies(model: VlpModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of model.parameterViews()) out.set(k, Float32Array.from(await model.backend.read(t)));
  return out;
}

function compareParams(name: string, a: ArrayLike<number>, e: Float32Array, e0: Float32Array): ParityCheck {
  const untouched = e.every((v, i) => v === e0[i]);
  // maxAbs / maxRel (and a length mismatch) as every parity check reports them; the pass rule is ours
  const stats = compare(name, a, e, { atol: 0, rtol: 0, tolerance: "" });
  if (a.length !== e.length) return stats;
  let outside = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    if (!(d <= (untouched ? 0 : 1e-5 + 1e-3 * Math.abs(e[i] - e0[i])))) outside++;
  }
  return {
    ...stats,
    pass: untouched ? outside === 0 : outside <= 0.005 * e.length && stats.maxAbs <= 1e-4,
    tolerance: untouched
      ? "untouched by the original: bit-identical"
      : `|a-e| <= 1e-5 + 1e-3|e-e0| for >= 99.5% (${outside} of ${e.length} outside), max <= 1e-4`,
  };
}
