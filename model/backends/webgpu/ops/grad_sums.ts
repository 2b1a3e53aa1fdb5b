/**
 * Parameter-gradient sums held back during a backward pass ({@linkcode FusedOps.holdGradientSums} of
 * backend.ts): the fused ops leave the final stage of their chunked column sums (LayerNorm and bias
 * gradients of the output-block epilogues, the FFN-in and Q/K/V bias gradients, the split-K parts of weight
 * gradients, the heads' and region branches' bias gradients) pending here, and
 * {@linkcode GradSums.finish} adds them all with `sum_chunks_group` (kernels/sum_chunks_group.ts): one
 * dispatch per arena segment and destination window instead of one per tensor.
 *
 * - **Arena.** The partial rows of pending sums live in arena segments (buffers of at most one binding),
 *   handed out in order and reused by the next hold; a segment is sized from the floats the previous hold
 *   used, so that a training step's partials take as few segments as the binding limit allows.
 * - **Windows.** A segment's jobs are sorted by destination and packed into windows of destinations on one
 *   buffer whose span fits a binding (a model's flat gradient table: its bias and LayerNorm gradients lie
 *   between the weight matrices). The dispatch touches only the destinations' elements, so the plan
 *   counts those bytes, not the window's span.
 * - **Order.** Each column adds its chunks in order onto its destination, as the per-tensor final kernels
 *   do; holding changes the time of the addition, not its bits. Pending sums are added before any read,
 *   sync, BertAdam update, `countNonFinite` or `scaleInPlace` of the backend, and by `finish`.
 * - **Tables.** A window's job table (u32 words) is uploaded once per layout and cached.
 *
 * @module
 */
import { type Dispatcher, range } from "../dispatch.ts";
import { GpuTensor } from "../runtime.ts";
import { SUM_CHUNKS_GROUP } from "../kernels/sum_chunks_group.ts";

/** Arena offsets are multiples of this many elements (256 bytes: the storage offset alignment). */
const ARENA_ALIGN = 64;
/** The smallest arena segment, in elements (1 MiB). */
const MIN_SEGMENT = 1 << 18;
/** Job tables kept (a training step uses a few; the cache is cleared when full). */
const TABLE_CACHE_CAP = 64;

/** One pending sum: dst[c] += Σ_k src[k·n + c] for k < chunks, c < n. */
interface Job {
  seg: number;
  /** element offset of the partial rows inside their segment */
  src: number;
  chunks: number;
  n: number;
  dst: GpuTensor;
}

/** The plain twin of `sum_chunks_group` on host arrays: dst[d + c] += Σ_k src[s + k·n + c] per job. */
export function sumChunksGroupHost(
  src: Float32Array,
  dst: Float32Array,
  jobs: readonly { src: number; chunks: number; n: number; dst: number }[],
): void {
  for (const j of jobs) {
    for (let c = 0; c < j.n; c++) {
      let s = 0;
      for (let k = 0; k < j.chunks; k++) s = Math.fround(s + src[j.src + k * j.n + c]);
      dst[j.dst + c] = Math.fround(dst[j.dst + c] + s);
    }
  }
}

/** The pending parameter-gradient sums of one backend (see the module doc). */
export class GradSums {
  #held = false;
  readonly #segs: GpuTensor[] = [];
  #seg = 0;
  #used = 0;
  /** elements handed out since the last finish, and in the hold before */
  #window = 0;
  #last = 0;
  #jobs: Job[] = [];
  readonly #tables = new Map<string, GpuTensor>();

  constructor(readonly d: Dispatcher) {}

  /** Whether sums are being held back. */
  get held(): boolean {
    return this.#held;
  }

  /** Pending sums. */
  get pending(): number {
    return this.#jobs.length;
  }

  /** Hold back the final sums from now on (until {@linkcode finish}). */
  hold(): void {
    this.#held = true;
  }

  /** Add the pending sums and stop holding. */
  finish(): void {
    this.flush();
    this.#held = false;
  }

  /**
   * Scratch for the n-element partial rows of a sum to be held back: a view of an arena segment, or null
   * when nothing is held or n exceeds a binding (the caller then sums at once, into its own scratch).
   */
  alloc(n: number): GpuTensor | null {
    if (!this.#held) return null;
    const need = Math.ceil(Math.max(1, n) / ARENA_ALIGN) * ARENA_ALIGN;
    const maxSeg = Math.floor(this.d.maxElems / ARENA_ALIGN) * ARENA_ALIGN;
    if (need > maxSeg) return null;
    while (this.#seg < this.#segs.length && this.#used + need > this.#segs[this.#seg].size) {
      this.#seg++;
      this.#used = 0;
    }
    if (this.#seg === this.#segs.length) {
      // the rest of what the last hold used, else twice the previous segment (few segments either way)
      const prev = this.#segs.at(-1)?.size ?? 0;
      const want = Math.max(need, MIN_SEGMENT, this.#last - this.#window, 2 * prev);
      const size = Math.min(maxSeg, Math.ceil(want / ARENA_ALIGN) * ARENA_ALIGN);
      this.#segs.push(this.d.rt.alloc([size], "float", "f32", false));
      this.#used = 0;
    }
    const seg = this.#segs[this.#seg];
    const t = this.d.sub(seg, this.#used, n);
    this.#used += need;
    this.#window += need;
    return t;
  }

  /**
   * dst[c] += Σ_k src[k·n + c] for k < chunks (src from {@linkcode alloc}, written by dispatches recorded
   * before this call), pending until the next flush.
   */
  add(src: GpuTensor, chunks: number, n: number, dst: GpuTensor): void {
    const seg = this.#segs.findIndex((s) => s.storage === src.storage);
    if (seg < 0) throw new Error("GradSums.add: the partials are not in the arena");
    if (dst.size !== n || src.size < chunks * n) {
      throw new TypeError(`GradSums.add: ${chunks} chunks of ${n} columns into ${dst.size} elements`);
    }
    if (n > 0) this.#jobs.push({ seg, src: src.offset - this.#segs[seg].offset, chunks, n, dst });
  }

  /** Add every pending sum now (one dispatch per segment and destination window); keep holding. */
  flush(): void {
    const jobs = this.#jobs;
    this.#jobs = [];
    for (let s = 0; s < this.#segs.length; s++) {
      const mine = jobs.filter((j) => j.seg === s);
      mine.sort((a, b) => a.dst.storage.id - b.dst.storage.id || a.dst.offset - b.dst.offset);
      let w: Job[] = [];
      for (const j of mine) {
        if (w.length > 0) {
          const lo = w[0].dst.offset, first = w[0].dst.storage;
          const hi = Math.max(...w.map((x) => x.dst.offset + x.n), j.dst.offset + j.n);
          if (j.dst.storage !== first || hi - lo > this.d.maxElems) {
            this.#dispatch(s, w);
            w = [];
          }
        }
        w.push(j);
      }
      if (w.length > 0) this.#dispatch(s, w);
    }
    // the next hold's segments: the arena as this one used it, in as few segments as fit
    if (this.#window > 0) {
      const maxSeg = Math.floor(this.d.maxElems / ARENA_ALIGN) * ARENA_ALIGN;
      const fits = Math.ceil(this.#window / maxSeg);
      if (this.#segs.length > fits && this.#segs.some((t) => t.size < Math.min(maxSeg, this.#window))) {
        for (const t of this.#segs) this.d.rt.free(t);
        this.#segs.length = 0;
      }
      this.#last = Math.max(this.#last, this.#window);
    }
    this.#seg = 0;
    this.#used = 0;
    this.#window = 0;
  }

  /** One sum_chunks_group dispatch for jobs of segment s whose destinations share one window. */
  #dispatch(s: number, jobs: Job[]): void {
    const seg = this.#segs[s];
    const srcLo = Math.min(...jobs.map((j) => j.src));
    const srcHi = Math.max(...jobs.map((j) => j.src + j.chunks * j.n));
    const dstLo = Math.min(...jobs.map((j) => j.dst.offset));
    const dstHi = Math.max(...jobs.map((j) => j.dst.offset + j.n));
    const words: number[] = [];
    let total = 0;
    for (const j of jobs) {
      words.push(j.src - srcLo, j.chunks, j.n, j.dst.offset - dstLo, total);
      total += j.n;
    }
    const table = this.#table(words);
    const dst = new GpuTensor(jobs[0].dst.storage, dstLo, [dstHi - dstLo], "float", "f32", true);
    // bytes touched: the partial rows read, each destination read and written
    const read = 4 * (words.length + jobs.reduce((x, j) => x + (j.chunks + 1) * j.n, 0));
    this.d.rt.dispatch(
      SUM_CHUNKS_GROUP,
      { table, src: range(seg, srcLo, srcHi), dst },
      { jobs: jobs.length, total },
      this.d.groups(SUM_CHUNKS_GROUP, total),
      "index",
      { read, written: 4 * total },
    );
  }

  #table(words: number[]): GpuTensor {
    const key = words.join(",");
    let t = this.#tables.get(key);
    if (!t) {
      if (this.#tables.size >= TABLE_CACHE_CAP) {
        for (const old of this.#tables.values()) this.d.rt.free(old);
        this.#tables.clear();
      }
      t = this.d.rt.alloc([words.length], "int32", "i32", false);
      this.d.rt.write(t, words);
      this.#tables.set(key, t);
    }
    return t;
  }
}
