/**
 * The WebGPU runtime under the backend: tensors as views of pooled buffers, and one `dispatch()` that binds
 * tensors to a kernel's declared bindings and records the work.
 *
 * - **Recording.** Dispatches go into one command encoder and compute pass; the encoder is submitted every
 *   `flushEvery` dispatches and before anything that must be ordered against queue writes or host reads
 *   (`write`, `read`, `sync`). Copies and clears end the pass and start a new one.
 * - **Uniforms.** Each dispatch's `Params` go into a host staging ring, written to one uniform buffer at
 *   submit time and bound with a dynamic offset, so bind groups do not depend on uniforms and are cached
 *   (key: pipeline and bound buffer ranges).
 * - **Bindings.** A binding covers only the element range the call addresses: its start is aligned down to
 *   `minStorageBufferOffsetAlignment` and the rest goes into `P.<name>_off`. A range larger than the
 *   storage binding limit is a RangeError naming the kernel and binding; the backend splits calls so that
 *   this does not happen (tests lower the limit with `maxBindingBytes` to exercise the splits).
 * - **Grids.** A workgroup count above `maxComputeWorkgroupsPerDimension` (65,535) is spread over y and z.
 * - **Pools.** Freed buffers go to a pool by size class (≤ 12.5 % rounding); reuse is ordered by the queue,
 *   and a reused buffer is cleared by the encoder before use.
 * - **Counting.** Every dispatch, clear, copy, write and read is counted (`counter`, plan.ts); with
 *   `plan: true` that is all the runtime does (no buffers, no submits; reads give zeros).
 * - **Errors.** Pipeline creation, bind group creation, buffer creation and each submit run inside error
 *   scopes; what they report is thrown, naming the kernel(s), by the next `read()` or `sync()`. Kernels
 *   that read indices from tensors record the first out-of-range one in a status word, which `read()` and
 *   `sync()` check (RangeError naming the kernel, the index and its position). A lost device makes every
 *   later call throw with the loss reason.
 *
 * @module
 */
import { type DType, fmtShape, type HostArray, numel, type Tensor } from "../../backend.ts";
import { type KernelDef, kernelSource, layoutEntries, paramBytes, paramFields } from "./kernel.ts";
import type { Gpu } from "./device.ts";
import { PlanCounter } from "./plan.ts";

/** Storage element type of a GPU tensor. */
export type GpuElem = "f32" | "i32" | "f16";

/** One allocation of a pooled GPU buffer (`id` identifies the buffer, stable across reuses). */
export class GpuStorage {
  released = false;
  constructor(readonly buffer: GPUBuffer, readonly bytes: number, readonly id: number) {}
}

/** A tensor of the WebGPU backend: `size` elements of `elem` at element `offset` of a pooled buffer. */
export class GpuTensor implements Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  constructor(
    readonly storage: GpuStorage,
    /** element offset inside the buffer */
    readonly offset: number,
    shape: readonly number[],
    readonly dtype: DType,
    readonly elem: GpuElem,
    /** views share the storage and are not freed on their own */
    readonly isView: boolean,
  ) {
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
  }

  /** Bytes per element. */
  get elemBytes(): number {
    return this.elem === "f16" ? 2 : 4;
  }
}

/** The tensor of a WebGPU backend (checked). */
export function gpuTensor(t: Tensor, what = "tensor"): GpuTensor {
  if (!(t instanceof GpuTensor)) {
    throw new TypeError(`Cannot use ${what}: it does not belong to the WebGPU backend`);
  }
  if (t.storage.released) throw new Error(`Cannot use ${what} of shape ${fmtShape(t.shape)}: it was freed`);
  return t;
}

/** A binding argument: a tensor, or the element range [lo, hi) of it that the call addresses. */
export type Bind = GpuTensor | { t: GpuTensor; lo: number; hi: number };

/** Options of {@linkcode GpuRuntime}. */
export interface RuntimeOptions {
  /** Lower the per-binding byte limit below the device's (tests of the split paths). */
  maxBindingBytes?: number;
  /** Lower the workgroups-per-dimension limit below the device's (tests of the grid spreading). */
  maxWorkgroupsPerDim?: number;
  /** Dispatches recorded before a submit (default {@linkcode FLUSH_EVERY}). */
  flushEvery?: number;
  /**
   * Plan only: count what would be recorded (plan.ts) without creating buffers or submitting anything;
   * reads return zeros. For taking the kernel plan of sizes the adapter could not run.
   */
  plan?: boolean;
}

/** Default dispatches recorded before a submit. */
export const FLUSH_EVERY = 256;
/** Bytes of the uniform ring (every dispatch's `Params` until the next submit). */
const UNIFORM_RING_BYTES = 1 << 20;
/** Bind groups kept (the cache is cleared when full). */
const BIND_GROUP_CACHE = 8192;
/** The smallest pool size class, in bytes. */
const MIN_SIZE_CLASS = 256;

interface Pipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  def: KernelDef;
  key: string;
}

/** A kernel's uniform layout, computed once. */
interface ParamLayout {
  fields: [string, "u32" | "i32" | "f32"][];
  bytes: number;
}

const paramLayouts = new WeakMap<KernelDef, ParamLayout>();

function paramLayout(k: KernelDef): ParamLayout {
  let l = paramLayouts.get(k);
  if (!l) {
    l = { fields: paramFields(k), bytes: paramBytes(k) };
    paramLayouts.set(k, l);
  }
  return l;
}

/** Device, pools, recording and error tracking (see the module doc). */
export class GpuRuntime {
  readonly device: GPUDevice;
  readonly gpu: Gpu;
  /** bytes of one storage binding at most */
  readonly maxBindingBytes: number;
  /** workgroups per grid dimension at most */
  readonly maxWorkgroupsPerDim: number;
  readonly #storageAlign: number;
  readonly #uniformAlign: number;
  readonly #flushEvery: number;

  /** Dispatches recorded since creation (tests check that splits happened). */
  dispatchCount = 0;
  /** Whether this runtime only plans (see {@linkcode RuntimeOptions.plan}). */
  readonly planOnly: boolean;
  /** What was recorded so far, counted (plan.ts). */
  readonly counter: PlanCounter = new PlanCounter();
  #lost: GPUDeviceLostInfo | null = null;
  #nextId = 1;
  readonly #pool = new Map<number, GPUBuffer[]>();
  readonly #bufferIds = new WeakMap<GPUBuffer, number>();
  #allocatedBytes = 0;
  readonly #pipelines = new Map<string, Pipeline>();
  readonly #bindGroups = new Map<string, GPUBindGroup>();
  readonly #uniformBuf: GPUBuffer;
  readonly #uniformStage = new ArrayBuffer(UNIFORM_RING_BYTES);
  readonly #uniformView = new DataView(this.#uniformStage);
  #uniformUsed = 0;
  readonly #status: GpuStorage;
  readonly #tags = new Map<number, string>();
  #nextTag = 1;
  #enc: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #batch: string[] = [];
  #errors: Promise<string | null>[] = [];
  readonly #dummies = new Map<GpuElem, GpuTensor>();

  constructor(gpu: Gpu, opts: RuntimeOptions = {}) {
    this.gpu = gpu;
    this.device = gpu.device;
    const lim = this.device.limits;
    this.maxBindingBytes = Math.min(lim.maxStorageBufferBindingSize, opts.maxBindingBytes ?? Infinity);
    this.maxWorkgroupsPerDim = Math.min(
      lim.maxComputeWorkgroupsPerDimension,
      opts.maxWorkgroupsPerDim ?? Infinity,
    );
    this.#storageAlign = lim.minStorageBufferOffsetAlignment;
    this.#uniformAlign = lim.minUniformBufferOffsetAlignment;
    this.#flushEvery = opts.flushEvery ?? FLUSH_EVERY;
    this.planOnly = opts.plan ?? false;
    this.device.lost.then((info) => {
      this.#lost = info;
    });
    this.#uniformBuf = this.device.createBuffer({
      label: "uniform ring",
      size: UNIFORM_RING_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#status = this.#createStorage(16, "status word");
  }

  // ---- liveness and errors ------------------------------------------------------------------------------

  /** Throw if the device was lost. */
  assertAlive(what: string): void {
    if (this.#lost) {
      throw new Error(
        `Cannot ${what}: the WebGPU device was lost (${
          this.#lost.reason || "unknown reason"
        }): ${this.#lost.message}`,
      );
    }
  }

  #scope(filter: GPUErrorFilter, describe: () => string): () => void {
    this.device.pushErrorScope(filter);
    return () => {
      this.#errors.push(this.device.popErrorScope().then((e) => (e ? `${describe()}: ${e.message}` : null)));
    };
  }

  async #checkErrors(): Promise<void> {
    const pending = this.#errors;
    this.#errors = [];
    const msgs = (await Promise.all(pending)).filter((m): m is string => m !== null);
    if (msgs.length > 0) throw new Error(msgs.join("\n"));
  }

  // ---- memory -------------------------------------------------------------------------------------------

  static #sizeClass(bytes: number): number {
    if (bytes <= MIN_SIZE_CLASS) return MIN_SIZE_CLASS;
    const step = 2 ** Math.max(8, Math.floor(Math.log2(bytes)) - 3);
    return Math.ceil(bytes / step) * step;
  }

  #createStorage(bytes: number, what: string, zero = true): GpuStorage {
    const size = GpuRuntime.#sizeClass(Math.max(4, bytes));
    if (size > this.device.limits.maxBufferSize) {
      throw new RangeError(
        `Cannot allocate ${what}: ${size} bytes exceed the device's buffer size limit of ` +
          `${this.device.limits.maxBufferSize} bytes`,
      );
    }
    const pooled = this.#pool.get(size)?.pop();
    if (pooled) {
      if (zero) {
        this.counter.clear(size);
        if (!this.planOnly) this.#endPass().clearBuffer(pooled, 0, size);
      }
      return new GpuStorage(pooled, size, this.#bufferIds.get(pooled)!);
    }
    if (this.planOnly) {
      const id = this.#nextId++;
      const buffer = { label: `planned ${id}`, size } as unknown as GPUBuffer; // never given to the device
      this.#allocatedBytes += size;
      this.#bufferIds.set(buffer, id);
      return new GpuStorage(buffer, size, id);
    }
    const done = this.#scope("out-of-memory", () => `Cannot allocate ${what} (${size} bytes) on the GPU`);
    const buffer = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    done();
    this.#allocatedBytes += size;
    const id = this.#nextId++;
    this.#bufferIds.set(buffer, id);
    return new GpuStorage(buffer, size, id);
  }

  /** A new tensor, zero-filled unless `zero` is false (then its contents are undefined). */
  alloc(shape: readonly number[], dtype: DType, elem: GpuElem, zero = true): GpuTensor {
    this.assertAlive("allocate a tensor");
    const n = numel(shape);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Cannot allocate tensor of shape ${fmtShape(shape)}`);
    }
    const bytes = n * (elem === "f16" ? 2 : 4);
    const storage = this.#createStorage(bytes, `a tensor of shape ${fmtShape(shape)}`, zero);
    return new GpuTensor(storage, 0, shape, dtype, elem, false);
  }

  /** Return a tensor's buffer to the pool (views: no-op). */
  free(t: GpuTensor): void {
    if (t.isView || t.storage.released) return;
    t.storage.released = true;
    const list = this.#pool.get(t.storage.bytes) ?? [];
    list.push(t.storage.buffer);
    this.#pool.set(t.storage.bytes, list);
  }

  /**
   * A temporary tensor (contents undefined) for one op's intermediate results; free it right after the
   * dispatches that use it are recorded (queue order keeps a later reuse of the buffer behind them).
   */
  scratch(n: number, elem: GpuElem = "f32"): GpuTensor {
    return this.alloc([Math.max(1, n)], elem === "i32" ? "int32" : "float", elem, false);
  }

  /** A 4-element placeholder for an absent optional binding. */
  dummy(elem: GpuElem): GpuTensor {
    let d = this.#dummies.get(elem);
    if (!d) {
      d = this.alloc([4], elem === "i32" ? "int32" : "float", elem);
      this.#dummies.set(elem, d);
    }
    return d;
  }

  /** Bytes held in GPU buffers (live and pooled). */
  get allocatedBytes(): number {
    return this.#allocatedBytes;
  }

  // ---- recording ----------------------------------------------------------------------------------------

  #encoder(): GPUCommandEncoder {
    if (!this.#enc) this.#enc = this.device.createCommandEncoder();
    return this.#enc;
  }

  #endPass(): GPUCommandEncoder {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    return this.#encoder();
  }

  /** Submit everything recorded so far. */
  flush(): void {
    if (!this.#enc || this.planOnly) return;
    const enc = this.#endPass();
    if (this.#uniformUsed > 0) {
      this.device.queue.writeBuffer(this.#uniformBuf, 0, this.#uniformStage, 0, this.#uniformUsed);
    }
    const kernels = [...new Set(this.#batch)];
    const done = this.#scope(
      "validation",
      () => `WebGPU submit of kernels ${kernels.join(", ") || "(copies)"} failed`,
    );
    this.device.queue.submit([enc.finish()]);
    done();
    this.#enc = null;
    this.#batch = [];
    this.#uniformUsed = 0;
  }

  #pipeline(k: KernelDef, aliased: boolean): Pipeline {
    const key = aliased ? `${k.name}#aliased` : k.name;
    const hit = this.#pipelines.get(key);
    if (hit) {
      if (hit.def !== k && kernelSource(hit.def, aliased) !== kernelSource(k, aliased)) {
        throw new Error(`Cannot compile kernel ${k.name}: another kernel has the same name`);
      }
      return hit;
    }
    if (k.f16 && !this.gpu.f16) {
      throw new Error(`Cannot compile kernel ${k.name}: the adapter lacks shader-f16`);
    }
    const code = kernelSource(k, aliased);
    const done = this.#scope("validation", () => `Cannot compile WebGPU kernel ${k.name}`);
    const module = this.device.createShaderModule({ label: k.name, code });
    const layout = this.device.createBindGroupLayout({ label: k.name, entries: layoutEntries(k, aliased) });
    const pipeline = this.device.createComputePipeline({
      label: k.name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
    });
    done();
    const p = { pipeline, layout, def: k, key };
    this.#pipelines.set(key, p);
    return p;
  }

  /** Spread a workgroup count over a 3-d grid within the per-dimension limit. */
  grid(count: number): [number, number, number] {
    const max = this.maxWorkgroupsPerDim;
    if (count <= max) return [Math.max(1, count), 1, 1];
    const y = Math.min(Math.ceil(count / max), max);
    const z = Math.ceil(count / (max * y));
    if (z > max) throw new RangeError(`Cannot dispatch ${count} workgroups: more than ${max}³`);
    return [max, y, z];
  }

  /**
   * Record one dispatch of `k`: `binds` maps every binding name to a tensor (or a range of one), `uniforms`
   * every uniform; `workgroups` is a count (spread by {@linkcode grid}) or an explicit grid. `what` names
   * the index a status-reporting kernel checks (for its RangeError message). `touched` gives the bytes
   * read and written for the counters where a kernel touches only a few elements of a bound range (the
   * counters otherwise take the ranges bound, plan.ts).
   */
  dispatch(
    k: KernelDef,
    binds: Readonly<Record<string, Bind>>,
    uniforms: Readonly<Record<string, number>>,
    workgroups: number | readonly [number, number, number],
    what = "index",
    touched?: { read: number; written: number },
  ): void {
    this.assertAlive(`run kernel ${k.name}`);
    const grid = typeof workgroups === "number" ? this.grid(workgroups) : workgroups;
    if (grid.some((d) => d > this.maxWorkgroupsPerDim)) {
      throw new RangeError(
        `Cannot run kernel ${k.name}: grid [${grid}] exceeds ${this.maxWorkgroupsPerDim} per dimension`,
      );
    }
    if (grid[0] * grid[1] * grid[2] === 0) return;
    // binding ranges
    const ranges: { storage: GpuStorage; off: number; size: number; writable: boolean }[] = [];
    const offsets: Record<string, number> = {};
    for (const b of k.bindings) {
      const arg = binds[b.name];
      if (!arg) throw new TypeError(`Cannot run kernel ${k.name}: binding "${b.name}" ${b.shape} is missing`);
      const t = gpuTensor(arg instanceof GpuTensor ? arg : arg.t, `binding "${b.name}" of kernel ${k.name}`);
      const [lo, hi] = arg instanceof GpuTensor ? [0, t.size] : [arg.lo, arg.hi];
      if (b.type !== "u32" && b.type !== t.elem) {
        throw new TypeError(
          `Cannot run kernel ${k.name}: binding "${b.name}" ${b.shape} expects ${b.type}, got ${t.elem}`,
        );
      }
      if (b.type === "u32" && t.elem === "f16") {
        throw new TypeError(
          `Cannot run kernel ${k.name}: binding "${b.name}" expects 4-byte elements, got f16`,
        );
      }
      if (!(lo >= 0 && hi <= t.size && lo <= hi)) {
        throw new RangeError(
          `Cannot run kernel ${k.name}: range [${lo}, ${hi}) of binding "${b.name}" is outside its ${t.size} elements`,
        );
      }
      const eb = t.elemBytes;
      const start = (t.offset + lo) * eb, end = (t.offset + hi) * eb;
      // a vec4 binding starts on a whole vector, so that an offset ≡ 0 (mod 4) stays so inside it
      const align = b.vec4 ? Math.max(this.#storageAlign, 4 * eb) : this.#storageAlign;
      const off = Math.floor(start / align) * align;
      const size = Math.max(4, Math.ceil(end / 4) * 4 - off);
      if (size > this.maxBindingBytes) {
        throw new RangeError(
          `Cannot run kernel ${k.name}: binding "${b.name}" ${b.shape} spans ${size} bytes, more than the ` +
            `storage binding limit of ${this.maxBindingBytes} bytes`,
        );
      }
      ranges.push({
        storage: t.storage,
        off,
        size: Math.min(size, t.storage.bytes - off),
        writable: b.access === "read_write",
      });
      offsets[`${b.name}_off`] = (start - off) / eb;
    }
    const aliased = ranges.some((r, i) =>
      ranges.some((s, j) => j !== i && s.storage === r.storage && (r.writable || s.writable))
    );
    let [read, written] = [0, 0];
    for (const r of ranges) r.writable ? (written += r.size) : (read += r.size);
    if (touched) [read, written] = [touched.read, touched.written];
    this.counter.dispatch(k.name, read, written);
    if (this.planOnly) {
      if (k.f16 && !this.gpu.f16) {
        throw new Error(`Cannot compile kernel ${k.name}: the adapter lacks shader-f16`);
      }
      for (const name in uniforms) {
        if (!(name in k.uniforms)) {
          throw new TypeError(`Cannot run kernel ${k.name}: unknown uniform "${name}"`);
        }
      }
      this.dispatchCount++;
      return;
    }
    const p = this.#pipeline(k, aliased);
    // uniforms
    const { fields, bytes } = paramLayout(k);
    if (this.#uniformUsed + bytes > UNIFORM_RING_BYTES) this.flush();
    const base = this.#uniformUsed;
    let tag = 0;
    if (k.status) {
      tag = this.#nextTag++;
      if (this.#nextTag > 0x7fffffff) this.#nextTag = 1;
      this.#tags.set(tag, `${k.name}: ${what}`);
    }
    for (const name in uniforms) {
      if (!(name in k.uniforms)) {
        throw new TypeError(`Cannot run kernel ${k.name}: unknown uniform "${name}"`);
      }
    }
    fields.forEach(([name, type], i) => {
      const v = name === "tag" && k.status ? tag : name in offsets ? offsets[name] : uniforms[name];
      if (v === undefined || Number.isNaN(v)) {
        throw new TypeError(`Cannot run kernel ${k.name}: uniform "${name}" is ${v}`);
      }
      const at = base + 4 * i;
      if (type === "f32") this.#uniformView.setFloat32(at, v, true);
      else if (type === "i32") this.#uniformView.setInt32(at, v, true);
      else this.#uniformView.setUint32(at, v >>> 0, true);
    });
    this.#uniformUsed = base + Math.ceil(bytes / this.#uniformAlign) * this.#uniformAlign;
    // bind group (cached by pipeline and ranges)
    const bgKey = p.key + "|" + ranges.map((r) => `${r.storage.id}:${r.off}:${r.size}`).join("|");
    let bg = this.#bindGroups.get(bgKey);
    if (!bg) {
      const entries: GPUBindGroupEntry[] = [{
        binding: 0,
        resource: { buffer: this.#uniformBuf, size: bytes },
      }];
      ranges.forEach((r, i) =>
        entries.push({ binding: i + 1, resource: { buffer: r.storage.buffer, offset: r.off, size: r.size } })
      );
      if (k.status) entries.push({ binding: ranges.length + 1, resource: { buffer: this.#status.buffer } });
      const done = this.#scope("validation", () => `Cannot bind the tensors of WebGPU kernel ${k.name}`);
      bg = this.device.createBindGroup({ layout: p.layout, entries });
      done();
      if (this.#bindGroups.size >= BIND_GROUP_CACHE) this.#bindGroups.clear();
      this.#bindGroups.set(bgKey, bg);
    }
    if (!this.#pass) this.#pass = this.#encoder().beginComputePass();
    this.#pass.setPipeline(p.pipeline);
    this.#pass.setBindGroup(0, bg, [base]);
    this.#pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.#batch.push(k.name);
    this.dispatchCount++;
    if (this.#batch.length >= this.#flushEvery) this.flush();
  }

  /** Record a buffer-to-buffer copy of `n` 4-byte elements (different buffers, 4-byte aligned). */
  copyBuffer(src: GpuTensor, dst: GpuTensor, n: number): void {
    this.counter.copy(n * 4);
    if (this.planOnly) return;
    this.#endPass().copyBufferToBuffer(
      src.storage.buffer,
      src.offset * 4,
      dst.storage.buffer,
      dst.offset * 4,
      n * 4,
    );
  }

  // ---- host transfers -----------------------------------------------------------------------------------

  /** Copy host values into `t` (ordered after everything recorded so far). */
  write(t: GpuTensor, data: ArrayLike<number>): void {
    this.assertAlive("write a tensor");
    if (data.length !== t.size) {
      throw new TypeError(`Cannot write ${data.length} values into a tensor of shape ${fmtShape(t.shape)}`);
    }
    let arr: Float32Array | Int32Array | Float16Array;
    if (t.elem === "f32") arr = data instanceof Float32Array ? data : Float32Array.from(data);
    else if (t.elem === "i32") arr = data instanceof Int32Array ? data : Int32Array.from(data);
    else {
      // queue writes move whole 4-byte words: a float16 view must start and end on one
      if (t.offset % 2 !== 0 || (t.size % 2 !== 0 && t.isView)) {
        throw new RangeError(
          `Cannot write a float16 view of shape ${fmtShape(t.shape)}: its offset and size must be even`,
        );
      }
      arr = new Float16Array(t.size + (t.size % 2));
      arr.set(data);
    }
    if (arr.byteLength === 0) return;
    this.counter.write(arr.byteLength);
    if (this.planOnly) return;
    this.flush();
    this.device.queue.writeBuffer(
      t.storage.buffer,
      t.offset * t.elemBytes,
      arr as unknown as Float32Array<ArrayBuffer>,
    );
  }

  /**
   * Copy the byte range [lo, hi) of `src` (none when src is null) and the status word to the host after all
   * recorded work; check the status word and the error scopes; return the range's bytes.
   */
  async #readBack(what: string, src: GPUBuffer | null, lo: number, hi: number): Promise<ArrayBuffer> {
    this.assertAlive(what);
    const n = src ? hi - lo : 0;
    if (src) this.counter.read();
    if (this.planOnly) return new ArrayBuffer(n);
    const staging = this.device.createBuffer({
      size: n + 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const enc = this.#endPass();
    if (src && n > 0) enc.copyBufferToBuffer(src, lo, staging, 0, n);
    enc.copyBufferToBuffer(this.#status.buffer, 0, staging, n, 16);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.assertAlive(what);
      throw e;
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    await this.#checkStatus(new Uint32Array(bytes, n, 4));
    await this.#checkErrors();
    return bytes.slice(0, n);
  }

  /** Copy `t` to the host after all recorded work, then check the status word and error scopes. */
  async read(t: GpuTensor): Promise<HostArray | Float16Array> {
    // whole 4-byte words (a float16 view may start or end inside one)
    const start = t.offset * t.elemBytes, end = start + t.size * t.elemBytes;
    const lo = Math.floor(start / 4) * 4, hi = Math.ceil(end / 4) * 4;
    const body = (await this.#readBack("read a tensor", t.storage.buffer, lo, hi)).slice(
      start - lo,
      end - lo,
    );
    if (t.elem === "f32") return new Float32Array(body);
    if (t.elem === "i32") return new Int32Array(body);
    return new Float16Array(body);
  }

  async #checkStatus(word: Uint32Array): Promise<void> {
    if (word[0] === 0) {
      this.#tags.clear();
      return;
    }
    const what = this.#tags.get(word[0]) ?? "a kernel: index";
    this.#tags.clear();
    this.device.queue.writeBuffer(this.#status.buffer, 0, new Uint32Array(4));
    await this.#checkErrors();
    const [kernel, name] = what.split(": ");
    throw new RangeError(
      `Cannot run kernel ${kernel}: ${name} ${word[2] | 0} at flat position ${word[1]} is outside [0, ${
        word[3]
      })`,
    );
  }

  /** Wait for all recorded work; check the status word and error scopes. */
  async sync(): Promise<void> {
    await this.#readBack("synchronise", null, 0, 0);
  }

  /** Destroy every buffer and the device. */
  destroy(): void {
    this.#enc = null;
    this.#pass = null;
    if (!this.planOnly) { for (const list of this.#pool.values()) for (const b of list) b.destroy(); }
    this.#pool.clear();
    this.#bindGroups.clear();
    this.device.destroy();
  }
}
