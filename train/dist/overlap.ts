/**
 * Gradient all-reduce started while the backward pass is still running, as DDP's bucketed hooks do.
 *
 * The model calls `onLayerGradients(l)` right after encoder layer l's backward (last layer first, see
 * `LossOptions` of @vlp/model). Layer l's parameters are one range of the flat gradient buffer, so
 * adjacent ready layers grow one range, and once it holds {@linkcode BUCKET_ELEMENTS} (25 MB) it is started
 * as an in-place all-reduce of the gradient buffer itself on the world's communication thread, while the
 * main thread computes the earlier layers. When the backward returns, the rest (embeddings, heads, region
 * branches: the tied word embeddings take their last gradient at the very end) is started, one call per
 * gap between the layers' ranges, and the update waits for all.
 *
 * Every rank starts the same buckets in the same order (the layer order is fixed), which is what MPI requires
 * of collectives. This runs on backends whose tensors are host arrays (blas, reference); others (webgpu) use
 * {@linkcode allreduceGradients} after the backward.
 *
 * @module
 */
import type { VlpModel } from "@vlp/model";
import { BUCKET_ELEMENTS } from "./data_parallel.ts";
import type { World } from "./world.ts";

interface Range {
  lo: number;
  hi: number;
}

/** What one overlapped reduction took. */
export interface ReduceTiming {
  /** seconds from the first bucket's start to the last one's completion */
  commSeconds: number;
  /** seconds the caller waited after the backward (communication not hidden behind compute) */
  exposedSeconds: number;
  /** buckets started */
  buckets: number;
  /** buckets started before the backward returned */
  bucketsDuringBackward: number;
}

function hostArray(model: VlpModel): Float32Array | Float64Array | null {
  const d = (model.grads as unknown as { data?: unknown }).data;
  return d instanceof Float32Array || d instanceof Float64Array ? d : null;
}

/**
 * The flat range of each encoder layer's parameters (alignment gaps included), or null when another tensor
 * lies inside one.
 */
export function layerRanges(model: VlpModel): Range[] | null {
  const out: Range[] = [];
  const size = (s: { shape: readonly number[] }) => s.shape.reduce((a, b) => a * b, 1);
  for (let l = 0; l < model.config.numLayers; l++) {
    const prefix = `bert.encoder.layer.${l}.`;
    const specs = model.table.specs.filter((s) => s.name.startsWith(prefix));
    if (specs.length === 0) return null;
    const lo = Math.min(...specs.map((s) => s.offset)),
      hi = Math.max(...specs.map((s) => s.offset + size(s)));
    const inside = model.table.specs.some((s) =>
      !s.name.startsWith(prefix) && s.offset < hi && s.offset + size(s) > lo
    );
    if (inside) return null;
    out.push({ lo, hi });
  }
  return out;
}

/** One optimiser update's gradient sum, started during the backward (see the module doc). */
export class OverlappedReducer {
  readonly #world: World;
  readonly #grads: Float32Array | Float64Array;
  readonly #layers: Range[];
  readonly #cap: number;
  #open: Range | null = null;
  #started: Range[] = [];
  #inFlight: Promise<void>[] = [];
  #t0 = 0;
  #tLast = 0;
  #tBackward = 0;
  #duringBackward = 0;

  private constructor(world: World, grads: Float32Array | Float64Array, layers: Range[], cap: number) {
    this.#world = world;
    this.#grads = grads;
    this.#layers = layers;
    this.#cap = cap;
  }

  /** A reducer when the model's gradients are host memory and MPI allows it; null otherwise. */
  static create(model: VlpModel, world: World, cap = BUCKET_ELEMENTS): OverlappedReducer | null {
    const grads = hostArray(model), layers = layerRanges(model);
    if (world.size === 1 || !grads || !layers) return null;
    return new OverlappedReducer(world, grads, layers, cap);
  }

  /** The hook for `forwardBackward`'s `onLayerGradients`. */
  readonly layerReady = (l: number): void => {
    const r = this.#layers[l];
    if (this.#open && r.hi === this.#open.lo) this.#open = { lo: r.lo, hi: this.#open.hi };
    else {
      this.#flush();
      this.#open = { ...r };
    }
    if (this.#open.hi - this.#open.lo >= this.#cap) this.#flush();
  };

  #flush(): void {
    if (this.#open) this.#start(this.#open);
    this.#open = null;
  }

  #start(r: Range): void {
    if (this.#started.length === 0) this.#t0 = performance.now();
    this.#started.push(r);
    this.#inFlight.push(
      this.#world.allreduceSum(this.#grads.subarray(r.lo, r.hi)).then(() => {
        this.#tLast = performance.now();
      }),
    );
  }

  /** The backward has returned: start what is left, in buckets (ascending offsets). */
  finishBackward(): void {
    this.#flush();
    this.#duringBackward = this.#started.length;
    this.#tBackward = performance.now();
    const done = [...this.#started].sort((a, b) => a.lo - b.lo);
    let at = 0;
    const gaps: Range[] = [];
    for (const r of done) {
      if (r.lo > at) gaps.push({ lo: at, hi: r.lo });
      at = Math.max(at, r.hi);
    }
    if (at < this.#grads.length) gaps.push({ lo: at, hi: this.#grads.length });
    for (const g of gaps) this.#start(g);
  }

  /** Wait until every bucket's sum has landed in the gradients. */
  async wait(): Promise<ReduceTiming> {
    await Promise.all(this.#inFlight);
    const end = performance.now();
    return {
      commSeconds: (Math.max(this.#tLast, this.#t0) - this.#t0) / 1000,
      exposedSeconds: (end - this.#tBackward) / 1000,
      buckets: this.#started.length,
      bucketsDuringBackward: this.#duringBackward,
    };
  }
}
