/**
 * BertAdam parity with the ORIGINAL optimiser on a reference fixture directory (`../shared/fixtures/vlp-tiny`
 * format): the captioning model loaded from `model.bin` takes `values.bertadam.steps` BertAdam updates on the
 * seq2seq batch (dropout off, drop-worst 0), with the hyper-parameters of `values.bertadam`.
 *
 * Checks:
 * - `bertadam_loss_trajectory[k]`: the loss before update k, relative 1e-5 (the loss tolerance of
 *   fixtures/README.md), or else |ours − original| ≤ tol + 2·S_k, S_k the loss's float32 sensitivity from
 *   perturbed float64 replays of updates 0..k−1 on the twin, each gradient element moved by ± the original's
 *   own measured float32 noise (`lossSpread` of parity_sensitivity.ts; run only for a check that fails the
 *   fixed tolerance). Its first two values are equal: at step 0 warmup_linear gives lr 0.
 * - `bertadam_params:<key>`: every tensor of `params_after_bertadam3.npz` after the updates. A tensor the
 *   original left untouched (the pooler: outside every loss, so its gradient is `None` and BertAdam skips
 *   it) must be bit-identical to its initial value. Elsewhere EVERY element must satisfy
 *   |a − e| ≤ 1e-5 + 1e-3·|e − e₀| + 2·S (e₀: the value before training), S the float32 sensitivity of the
 *   run measured on a float64 twin (a second model on `reference64` stepping in lockstep), and, for tensors
 *   whose gradient a ReLU gate within float32 noise of 0 decides, plus the envelope of Adam's update at that
 *   step; such gates are counted and at most 0.1% of a ReLU's gates may be (parity_sensitivity.ts,
 *   model/README.md "Parity tolerances").
 *
 * A step after an update with learning rate 0 (warmup_linear's step 0) has the parameters of the step before,
 * bit for bit (p −= 0·(finite update)), so its forward and backward are not run again on either model: its
 * loss and gradients are the last step's.
 *
 * @module
 */
import { join } from "node:path";
import { readNpz, toFloat32 } from "@vlp/io";
import { type Backend, createBackend, loadCheckpoint, VlpModel } from "@vlp/model";
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
import {
  adamEnvelope,
  type AdamReplay,
  adamSensitivity,
  clipCoef,
  clipped,
  GATED,
  linearPre,
  LOSS_REPLAYS,
  lossSpread,
  lossWithinSpread,
  originalNoise,
  reluAmbiguity,
  RELUS,
  type ReplayTensor,
} from "./parity_sensitivity.ts";
import { Rng } from "@vlp/model";

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
  // the float64 twin: the same run in exact-enough arithmetic, for the sensitivity bounds
  const twin = new VlpModel({
    config: fixtureConfig(m),
    task: "img2txt",
    backend: createBackend("reference64"),
    noInit: true,
  });
  await loadCheckpoint(twin, join(fixtureDir, "model.bin"));
  const before = await namedHostCopies(model);
  const hyper = {
    lr: h.lr,
    warmup: h.warmup,
    tTotal: h.t_total,
    schedule: h.schedule as Schedule,
    beta1: h.b1,
    beta2: h.b2,
    eps: h.e,
    maxGradNorm: h.max_grad_norm,
    weightDecay: h.weight_decay,
  };
  const opt = new BertAdam(model, hyper), twinOpt = new BertAdam(twin, hyper);
  const { checks, add } = checkList(log);
  log(`BertAdam: ${h.steps} steps, lr ${h.lr}, ${h.schedule}, warmup ${h.warmup}, t_total ${h.t_total}`);
  const grads = new Map<string, Float64Array[]>(), noise = new Map<string, number[]>(), lrs: number[] = [];
  const ambiguous: { relu: (typeof RELUS)[number]; step: number; count: number; of: number }[] = [];
  let gates: typeof ambiguous = [];
  let loss = NaN, twinLoss = NaN;
  // per tensor: the twin's unclipped step-0 gradient, and each step's clip coefficient and max|g| (the scale
  // of the loss replays' perturbation); the loss checks that fail the fixed tolerance wait for the replays
  const raw0 = new Map<string, Float64Array>(), scales = new Map<string, { coef: number; max: number }[]>();
  const pending: { k: number; check: ParityCheck; expected: number; twinLoss: number; twin: ParityCheck }[] =
    [];
  for (let k = 0; k < h.steps; k++) {
    // ReLU gates at this step's parameters, measured from the parameters' drift from the twin (none before
    // the first update with a learning rate: the initial gates are those of the grads_s2s checks of
    // model/parity.ts); unchanged since the last step when its learning rate was 0
    if (k > 0 && lrs[k - 1] > 0) gates = await reluGates(model, twin, batch.regionFeats, batch.visPe, k);
    for (const g of gates) if (g.count > 0) ambiguous.push({ ...g, step: k });
    lrs.push(opt.currentLr());
    if (k === 0 || lrs[k - 1] !== 0) {
      model.zeroGrad();
      twin.zeroGrad();
      loss = await model.readScalar(model.forwardBackward(batch, { dropout: false }));
      twinLoss = await twin.readScalar(twin.forwardBackward(batch, { dropout: false }));
    } else {
      // the last update had learning rate 0 (warmup_linear's step 0): p −= 0·(…) left every parameter as it
      // was, so this step's forward and backward are the last one's, value for value; the gradients are
      // still in place (BertAdam leaves them as they are), and its loss is the last loss
      log(`step ${k}: the parameters are those of step ${k - 1} (learning rate 0): its loss and gradients`);
    }
    const ours = model.gradientViews();
    for (const [key, t] of twin.gradientViews()) {
      const raw = Float64Array.from(await twin.backend.read(t));
      if (k === 0) raw0.set(key, raw);
      scales.set(key, [...scales.get(key) ?? [], { coef: clipCoef(raw, h.max_grad_norm), max: maxAbs(raw) }]);
      const g = clipped(raw, h.max_grad_norm);
      const a = clipped(Float64Array.from(await backend.read(ours.get(key)!)), h.max_grad_norm);
      grads.set(key, [...grads.get(key) ?? [], g]);
      // the float32 run's distance from the twin at this step, for the perturbation of the sensitivity
      noise.set(key, [...noise.get(key) ?? [], g.reduce((d, x, i) => Math.max(d, Math.abs(x - a[i])), 0)]);
    }
    const e = trajectory?.[k];
    if (typeof e === "number") {
      const c = compare(`bertadam_loss_trajectory[${k}]`, [loss], [e], lossTolerance(e));
      const twinCheck = compare(c.name, [twinLoss], [e], lossTolerance(e));
      if (c.pass) add({ ...c, twin: twinCheck });
      else pending.push({ k, check: c, expected: e, twinLoss, twin: twinCheck });
    }
    opt.step();
    twinOpt.step();
  }
  for (const a of ambiguous) {
    log(`step ${a.step}: ${a.count} of ${a.of} ${a.relu} ReLU gates within float32 noise of 0`);
  }

  const expected = await readNpz(join(fixtureDir, "params_after_bertadam3.npz"));
  const views = model.parameterViews(), twinViews = twin.parameterViews();
  const decay = new Map(model.table.specs.map((sp) => [sp.name, sp.decay ? h.weight_decay : 0]));
  const replay: AdamReplay = { beta1: h.b1, beta2: h.b2, eps: h.e, maxGradNorm: h.max_grad_norm, lrs };
  for (const [key, e] of expected) {
    const t = views.get(key), e0 = before.get(key);
    if (!t || !e0) {
      add(missingParameter(`bertadam_params:${key}`));
      continue;
    }
    const gs = grads.get(key);
    let bound: Float64Array | null = null, gated = 0;
    if (gs && gs.length === h.steps && gs[0].length === e0.length) {
      // a gradient zero in exact arithmetic (the attention key bias): its noise floor, as in model/parity.ts
      const zero = /^(.*attention\.self\.key)\.bias$/.exec(key);
      const zw = zero && grads.get(`${zero[1]}.weight`);
      // perturbation δ_k ≥ twice the float32 run's measured distance from the twin (the original's is alike)
      const floor = noise.get(key)!.map((d, k) => Math.max(2 * d, zw ? 1e-5 * maxAbs(zw[k]) : 0));
      bound = adamSensitivity(Float64Array.from(e0), gs, decay.get(key) ?? 0, replay, floor).map((x) =>
        2 * x
      );
      for (const a of ambiguous) {
        // the gated tensors from that step on; every tensor from the next step that has a learning rate
        const from = GATED[a.relu].includes(key) ? a.step : lrs[a.step] > 0 ? a.step + 1 : h.steps;
        if (from >= h.steps) continue;
        if (a.count > 1e-3 * a.of) gated = Infinity;
        gated += a.count;
        const env = adamEnvelope(gs, from, replay);
        for (let i = 0; i < bound.length; i++) bound[i] += env[i];
      }
    }
    const name = `bertadam_params:${key}`, ev = toFloat32(e);
    const c = compareParams(name, await backend.read(t), ev, e0, bound, gated);
    // the twin's own distances, for --report (model/README.md "Parity tolerances")
    const tt = twinViews.get(key)!;
    add({ ...c, twin: compare(name, await twin.backend.read(tt), ev, { atol: 0, rtol: 0, tolerance: "" }) });
  }
  if (pending.length > 0) {
    // the loss sensitivity from perturbed float64 replays (parity_sensitivity.ts lossSpread); the twin's
    // parameters are not needed after the checks above, so each replay writes its parameters there
    const original = await readNpz(join(fixtureDir, "grads_s2s.npz")).catch(() => new Map());
    const tensors = new Map<string, ReplayTensor>();
    for (const [key, gs] of grads) {
      const o = original.get(key), r0 = raw0.get(key)!, sc = scales.get(key)!;
      const n0 = o ? originalNoise(toFloat32(o), r0) : new Float64Array(r0.length);
      const noise = sc.map((s) => n0.map((x) => x * s.coef * (sc[0].max > 0 ? s.max / sc[0].max : 0)));
      tensors.set(key, {
        p0: Float64Array.from(before.get(key)!),
        grads: gs,
        noise,
        wd: decay.get(key) ?? 0,
      });
    }
    const loss64 = async (params: Map<string, Float64Array>) => {
      for (const [key, p] of params) twin.backend.write(twinViews.get(key)!, p);
      return await twin.readScalar(twin.loss(batch, { dropout: false }));
    };
    for (const p of pending) {
      log(`${p.check.name} fails the fixed tolerance: ${LOSS_REPLAYS} perturbed float64 replays`);
      const s = await lossSpread(p.k, tensors, replay, LOSS_REPLAYS, loss64, new Rng(p.k));
      const tol = lossTolerance(p.expected).rtol * Math.abs(p.expected);
      const ours = p.check.actual![0], d = Math.abs(ours - p.expected);
      const dist = {
        oursVsF64: Math.abs(ours - p.twinLoss),
        originalVsF64: Math.abs(p.expected - p.twinLoss),
      };
      const rule = `|ours - original| ${d.toExponential(2)} vs ${tol.toExponential(2)} + 2·spread ${
        s.spread.toExponential(2)
      } (replays - base: ${s.losses.map((l) => (l - s.base).toExponential(2)).join(" ")}; base - twin ${
        (s.base - p.twinLoss).toExponential(1)
      })`;
      add(
        lossWithinSpread(ours, p.expected, s.spread, tol)
          ? {
            ...p.check,
            pass: true,
            excused: { ...dist, floor: tol, spread: s.spread },
            tolerance: `${p.check.tolerance}; EXCUSED by float32 sensitivity: ${rule}`,
            twin: p.twin,
          }
          : { ...p.check, tolerance: `${p.check.tolerance}; not excused: ${rule}`, twin: p.twin },
      );
    }
  }
  return checks;
}

/** Ambiguous gates of the region embeddings' ReLUs (parity_sensitivity.ts) at the models' parameters. */
async function reluGates(
  model: VlpModel,
  twin: VlpModel,
  regionFeats: ArrayLike<number>,
  visPe: ArrayLike<number>,
  step: number,
): Promise<{ relu: (typeof RELUS)[number]; step: number; count: number; of: number }[]> {
  const pre = async (mdl: VlpModel) => {
    const v = mdl.parameterViews(), get = async (k: string) => await mdl.backend.read(v.get(k)!);
    const w0 = await get("vis_embed.0.weight"), b0 = await get("vis_embed.0.bias");
    const rows = regionFeats.length / (w0.length / b0.length);
    const h0 = linearPre(regionFeats, w0, b0, rows);
    const h2 = linearPre(h0, await get("vis_embed.2.weight"), await get("vis_embed.2.bias"), rows, true);
    const wp = await get("vis_pe_embed.0.weight"), bp = await get("vis_pe_embed.0.bias");
    return [h0, h2, linearPre(visPe, wp, bp, visPe.length / (wp.length / bp.length))];
  };
  const [a, b] = [await pre(twin), await pre(model)];
  return RELUS.map((relu, i) => ({
    relu,
    step,
    count: reluAmbiguity(a[i], b[i]).ambiguous,
    of: a[i].length,
  }));
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

async function namedHostCopies(model: VlpModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of model.parameterViews()) out.set(k, Float32Array.from(await model.backend.read(t)));
  return out;
}

function compareParams(
  name: string,
  a: ArrayLike<number>,
  e: Float32Array,
  e0: Float32Array,
  sensitivity: Float64Array | null,
  gated: number,
): ParityCheck {
  const untouched = e.every((v, i) => v === e0[i]);
  // maxAbs / maxRel (and a length mismatch) as every parity check reports them; the pass rule is ours
  const stats = compare(name, a, e, { atol: 0, rtol: 0, tolerance: "" });
  if (a.length !== e.length) return stats;
  let outside = 0, worst = 0;
  for (let i = 0; i < e.length; i++) {
    const d = Math.abs(a[i] - e[i]);
    const bound = untouched ? 0 : 1e-5 + 1e-3 * Math.abs(e[i] - e0[i]) + (sensitivity?.[i] ?? 0);
    if (!(d <= bound)) outside++;
    if (bound > 0) worst = Math.max(worst, d / bound);
  }
  return {
    ...stats,
    pass: outside === 0 && gated !== Infinity,
    tolerance: untouched
      ? "untouched by the original: bit-identical"
      : `|a-e| <= 1e-5 + 1e-3|e-e0| + 2·Adam sensitivity${
        gated > 0
          ? ` + update envelope (${gated === Infinity ? "too many" : gated} ambiguous ReLU gates)`
          : ""
      } (${outside} of ${e.length} outside, worst |a-e|/bound ${worst.toFixed(2)})`,
  };
}
