/**
 * BertAdam on the WebGPU backend (spec 8.1; the arithmetic is kernels/bert_adam*.ts).
 *
 * - {@linkcode bertAdamUpdate}, one tensor: partial sums of g² (sum_squares_partial), then `bert_adam`, in
 *   which every workgroup adds the same partials in the same order (the clip factor) and updates its
 *   grid-stride range.
 * - {@linkcode BertAdamGroups}, many tensors (the trainer's call): tensors whose param, grad, m and v are
 *   views of the same four buffers (a model's flat tables) go in groups whose ranges fit a binding; per
 *   group one dispatch of partial sums of g² over chunks of {@linkcode ADAM_GROUP_CHUNK} elements and one of
 *   the update (each tensor's clip from its own chunks' partials); the rest one tensor at a time. The
 *   per-group tables (offsets, sizes, weight decays) are uploaded once per layout and cached.
 *
 * @module
 */
import type { BertAdamArgs, BertAdamGroupArgs } from "../../../backend.ts";
import { sameSize } from "../../../backend_contract.ts";
import { bertAdamDefaults, type BertAdamHyper } from "../../../kernels/bert_adam.ts";
import { type Dispatcher, f32Bits, range } from "../dispatch.ts";
import { invocations } from "../kernel.ts";
import { GpuTensor, gpuTensor } from "../runtime.ts";
import { SUM_SQUARES_PARTIAL } from "../kernels/sum_squares_partial.ts";
import { BERT_ADAM } from "../kernels/bert_adam.ts";
import { BERT_ADAM_GROUP } from "../kernels/bert_adam_group.ts";
import { BERT_ADAM_GROUP_PARTIAL, GROUP_TAB_WORDS } from "../kernels/bert_adam_group_partial.ts";

/** Most workgroups of one `bert_adam` dispatch (each re-adds all partials; the rest is grid-stride). */
export const BERT_ADAM_MAX_GROUPS = 1024;

/** Elements each invocation of the grouped BertAdam kernels covers in its chunk. */
const ADAM_GROUP_ELEMS_PER_INVOCATION = 32;

/** Elements per workgroup (one chunk) of the grouped BertAdam kernels: its invocations × 32 elements. */
export const ADAM_GROUP_CHUNK: number = invocations(BERT_ADAM_GROUP_PARTIAL) *
  ADAM_GROUP_ELEMS_PER_INVOCATION;

/** Group layouts whose tables stay cached (a trainer uses one; the cache is cleared when full). */
export const ADAM_PLAN_CACHE_CAP = 16;

/** The four tensors of BertAdam, in the order of the group kernels' tables. */
const ADAM_ROLES = ["param", "grad", "m", "v"] as const;

/** The uniforms of the BertAdam kernels (`ADAM_UNIFORMS`); 1 − β in float64 on the host. */
function adamUniforms(h: Required<BertAdamHyper>): Record<string, number> {
  return {
    lr: h.lr,
    b1: h.beta1,
    one_minus_b1: 1 - h.beta1,
    b2: h.beta2,
    one_minus_b2: 1 - h.beta2,
    eps: h.eps,
    max_norm: h.maxGradNorm,
  };
}

/** One BertAdam step on one tensor (see the module doc). */
export function bertAdamUpdate(d: Dispatcher, { param, grad, m, v, ...hyper }: BertAdamArgs): void {
  const n = sameSize("bertAdamUpdate", param, grad, m, v);
  const h = bertAdamDefaults(hyper);
  const ts = { param: gpuTensor(param), grad: gpuTensor(grad), m: gpuTensor(m), v: gpuTensor(v) };
  const parts = d.partialSums(SUM_SQUARES_PARTIAL, { x: ts.grad }, n);
  for (const [s, e] of d.ranges(n)) {
    const groups = Math.min(BERT_ADAM_MAX_GROUPS, d.groups(BERT_ADAM, e - s));
    d.rt.dispatch(
      BERT_ADAM,
      {
        param: range(ts.param, s, e),
        grad: range(ts.grad, s, e),
        m: range(ts.m, s, e),
        v: range(ts.v, s, e),
        partial: range(parts.partial, 0, parts.count),
      },
      { n: e - s, groups, nparts: parts.count, wd: h.weightDecay, ...adamUniforms(h) },
      groups,
    );
  }
  d.rt.free(parts.partial);
}

/** One tensor of a grouped BertAdam call. */
interface AdamItem {
  param: GpuTensor;
  grad: GpuTensor;
  m: GpuTensor;
  v: GpuTensor;
  weightDecay: number;
  n: number;
}

/** Consecutive tensors on the same four buffers, and the element range [lo, hi) they span per role. */
interface AdamGroup {
  items: AdamItem[];
  lo: number[];
  hi: number[];
}

/** The tables of one group of BertAdam tensors that share their four buffers (cached by layout). */
interface AdamGroupPlan {
  /** spans binding the group's param, grad, m and v ranges */
  spans: { param: GpuTensor; grad: GpuTensor; m: GpuTensor; v: GpuTensor };
  /** per tensor: offsets, size, first chunk, chunks, weight decay (kernels/bert_adam_group_partial.ts) */
  tab: GpuTensor;
  /** the tensor of each chunk */
  chunkTensor: GpuTensor;
  chunks: number;
}

/** Grouped BertAdam with its cache of group tables (see the module doc); one per backend. */
export class BertAdamGroups {
  readonly #d: Dispatcher;
  /** tables of the grouped BertAdam, by layout */
  readonly #plans = new Map<string, AdamGroupPlan>();

  /** Grouped BertAdam dispatched through `d`. */
  constructor(d: Dispatcher) {
    this.#d = d;
  }

  /**
   * BertAdam on many tensors: the same arithmetic as {@linkcode bertAdamUpdate} on each, except the order
   * in which g² is summed.
   */
  update({ tensors, ...hyper }: BertAdamGroupArgs): void {
    const d = this.#d;
    const h = bertAdamDefaults({ ...hyper, weightDecay: 0 });
    for (const t of tensors) bertAdamDefaults({ ...hyper, weightDecay: t.weightDecay });
    const items: AdamItem[] = tensors.map((t) => ({
      param: gpuTensor(t.param),
      grad: gpuTensor(t.grad),
      m: gpuTensor(t.m),
      v: gpuTensor(t.v),
      weightDecay: t.weightDecay,
      n: sameSize("bertAdamUpdateGroup", t.param, t.grad, t.m, t.v),
    }));
    const single = ({ param, grad, m, v, weightDecay }: AdamItem) =>
      bertAdamUpdate(d, { ...hyper, param, grad, m, v, weightDecay });
    for (const g of this.#groups(items, single)) {
      if (g.items.length === 1) {
        single(g.items[0]);
        continue;
      }
      const plan = this.#plan(g);
      const { param, grad, m, v } = plan.spans;
      const common = { tab: plan.tab, chunk_tensor: plan.chunkTensor };
      const partial = d.rt.scratch(plan.chunks);
      const sizes = { chunks: plan.chunks, ch: ADAM_GROUP_CHUNK };
      d.rt.dispatch(BERT_ADAM_GROUP_PARTIAL, { grad, ...common, partial }, sizes, plan.chunks);
      d.rt.dispatch(BERT_ADAM_GROUP, { param, grad, m, v, ...common, partial }, {
        ...sizes,
        ...adamUniforms(h),
      }, plan.chunks);
      d.rt.free(partial);
    }
  }

  /**
   * Consecutive tensors on the same four storages whose spans [lo, hi) fit one binding; tensors that cannot
   * join a group (too large, float16) go to `single` right away.
   */
  #groups(items: AdamItem[], single: (it: AdamItem) => void): AdamGroup[] {
    const max = this.#d.maxElems;
    const groups: AdamGroup[] = [];
    for (const it of items) {
      if (it.n === 0) continue;
      if (it.n > max || ADAM_ROLES.some((r) => it[r].elem !== "f32")) {
        single(it);
        continue;
      }
      const last = groups.at(-1);
      const lo = ADAM_ROLES.map((r, i) => Math.min(last?.lo[i] ?? Infinity, it[r].offset));
      const hi = ADAM_ROLES.map((r, i) => Math.max(last?.hi[i] ?? 0, it[r].offset + it.n));
      if (
        last && ADAM_ROLES.every((r, i) => last.items[0][r].storage === it[r].storage && hi[i] - lo[i] <= max)
      ) {
        last.items.push(it);
        last.lo = lo;
        last.hi = hi;
      } else {
        groups.push({
          items: [it],
          lo: ADAM_ROLES.map((r) => it[r].offset),
          hi: ADAM_ROLES.map((r) => it[r].offset + it.n),
        });
      }
    }
    return groups;
  }

  /** Tables of a group (uploaded once per layout: tensor offsets, sizes and weight decays). */
  #plan({ items, lo, hi }: AdamGroup): AdamGroupPlan {
    const rt = this.#d.rt;
    const key = ADAM_ROLES.map((r) => `${items[0][r].storage.id}`).join(",") + ";" +
      items.map((x) => `${ADAM_ROLES.map((r) => x[r].offset).join(",")},${x.n},${x.weightDecay}`).join(";");
    const cached = this.#plans.get(key);
    if (cached) return cached;
    const [param, grad, m, v] = ADAM_ROLES.map((r, i) =>
      new GpuTensor(items[0][r].storage, lo[i], [hi[i] - lo[i]], "float", "f32", true)
    );
    const spans = { param, grad, m, v };
    const tab = new Uint32Array(items.length * GROUP_TAB_WORDS);
    const owner: number[] = [];
    items.forEach((x, t) => {
      const chunks = Math.ceil(x.n / ADAM_GROUP_CHUNK);
      tab.set([
        ...ADAM_ROLES.map((r, i) => x[r].offset - lo[i]),
        x.n,
        owner.length,
        chunks,
        f32Bits(x.weightDecay),
      ], t * GROUP_TAB_WORDS);
      for (let c = 0; c < chunks; c++) owner.push(t);
    });
    const tabT = rt.alloc([tab.length], "int32", "i32", false);
    rt.write(tabT, new Int32Array(tab.buffer));
    const chunkTensor = rt.alloc([owner.length], "int32", "i32", false);
    rt.write(chunkTensor, Int32Array.from(owner));
    const plan = { spans, tab: tabT, chunkTensor, chunks: owner.length };
    if (this.#plans.size >= ADAM_PLAN_CACHE_CAP) {
      for (const p of this.#plans.values()) for (const t of [p.tab, p.chunkTensor]) rt.free(t);
      this.#plans.clear();
    }
    this.#plans.set(key, plan);
    return plan;
  }
}
