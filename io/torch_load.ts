/**
 * Read PyTorch checkpoints (`torch.save(state_dict)`) in both formats without running any code:
 * - legacy (before PyTorch 1.6, the released VLP `model.N.bin`): magic, protocol and sys-info pickles, the
 *   object pickle (storages as persistent ids), the storage key list, then each storage's raw bytes;
 * - zip (PyTorch >= 1.6): `<archive>/data.pkl` plus one stored record per storage `<archive>/data/<key>`.
 *
 * The file is read once into one buffer; tensors are views into it (no copy) when contiguous and aligned,
 * so peak memory is about the file size (plus non-contiguous or unaligned tensors, which are copied).
 *
 * @module
 */
import {
  type DType,
  fmtShape,
  gatherStrided,
  isContiguous,
  ITEMSIZE,
  type NdArray,
  type NdData,
  numel,
  stridedExtent,
  viewOrCopy,
} from "./ndarray.ts";
import { describe, isTuple, pyFunction, type PyGlobal, unpickle } from "./pickle.ts";
import { parseZip, readZipEntry, type ZipEntry } from "./zip.ts";

/** PyTorch storage class names → dtype. */
export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

/** A storage referenced by the pickle; its data is attached once the storage bytes are located. */
class StorageRef {
  data: NdData | undefined;
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
    /** Legacy storage views: the root storage and the element offset into it. */
    readonly base?: { root: StorageRef; offset: number },
  ) {}
  /** The elements, resolving a view through its root. */
  resolve(): NdData | undefined {
    if (!this.base) return this.data;
    const d = this.base.root.data;
    return d?.subarray(this.base.offset, this.base.offset + this.numel);
  }
}

/** What `_rebuild_tensor_v2` describes: a strided view of a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

class StorageType implements PyGlobal {
  constructor(readonly qualname: string, readonly dtype: DType) {}
  call(): unknown {
    throw new TypeError(`${this.qualname} cannot be instantiated from a checkpoint`);
  }
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

function intTuple(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x))) {
    throw new TypeError(`${what}: expected a tuple of ints, got ${describe(v)}`);
  }
  return [...v] as number[];
}

function torchGlobals(what: string): Map<string, PyGlobal> {
  const g = new Map<string, PyGlobal>();
  const rebuild = (args: readonly unknown[]) => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) throw new TypeError(`${what}: tensor without a storage`);
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) {
      throw new TypeError(`${what}: bad storage offset`);
    }
    const shape = intTuple(size, `${what}: tensor size`),
      strides = intTuple(stride, `${what}: tensor stride`);
    if (shape.length !== strides.length) throw new TypeError(`${what}: size and stride differ in length`);
    return new TensorRef(storage, offset as number, shape, strides);
  };
  g.set("torch._utils._rebuild_tensor_v2", pyFunction("torch._utils._rebuild_tensor_v2", rebuild));
  g.set("torch._utils._rebuild_tensor", pyFunction("torch._utils._rebuild_tensor", rebuild));
  const param = (args: readonly unknown[]) => {
    if (!(args[0] instanceof TensorRef)) throw new TypeError(`${what}: parameter without a tensor`);
    return args[0];
  };
  g.set("torch._utils._rebuild_parameter", pyFunction("torch._utils._rebuild_parameter", param));
  g.set(
    "torch._utils._rebuild_parameter_with_state",
    pyFunction("torch._utils._rebuild_parameter_with_state", param),
  );
  const ordered = (args: readonly unknown[]) => {
    const m = new Map<unknown, unknown>();
    if (args.length > 0) {
      // OrderedDict([(k, v), ...])
      if (!Array.isArray(args[0])) {
        throw new TypeError(`${what}: OrderedDict argument is ${describe(args[0])}`);
      }
      for (const kv of args[0]) {
        if (!Array.isArray(kv) || kv.length !== 2) {
          throw new TypeError(`${what}: OrderedDict item is not a pair`);
        }
        m.set(kv[0], kv[1]);
      }
    }
    return m;
  };
  g.set("collections.OrderedDict", pyFunction("collections.OrderedDict", ordered));
  for (const [cls, dtype] of Object.entries(STORAGE_DTYPES)) {
    g.set(`torch.${cls}`, new StorageType(`torch.${cls}`, dtype));
  }
  return g;
}

/** Read a whole file into a buffer with `slack` spare bytes at the end. */
async function readWithSlack(path: string, slack: number): Promise<{ buf: Uint8Array; size: number }> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const buf = new Uint8Array(size + slack);
    let off = 0;
    while (off < size) {
      const k = await file.read(buf.subarray(off, size));
      if (k === null) break;
      off += k;
    }
    if (off !== size) throw new SyntaxError(`Cannot load checkpoint "${path}": file shrank while reading`);
    return { buf, size };
  } finally {
    file.close();
  }
}

function storageFromPid(
  pid: unknown,
  storages: Map<string, StorageRef>,
  what: string,
  legacy: boolean,
): StorageRef {
  if (!isTuple(pid) || pid[0] !== "storage") {
    throw new TypeError(`${what}: unknown persistent id ${describe(pid)}`);
  }
  const [, type, key, , count, view] = pid;
  if (!(type instanceof StorageType)) throw new TypeError(`${what}: storage of type ${describe(type)}`);
  if (typeof key !== "string") throw new TypeError(`${what}: storage key is ${describe(key)}`);
  if (!Number.isSafeInteger(count) || (count as number) < 0) throw new TypeError(`${what}: storage size`);
  let s = storages.get(key);
  if (!s) {
    numel([count as number], `${what}: storage "${key}"`);
    s = new StorageRef(key, type.dtype, count as number);
    storages.set(key, s);
  } else if (s.dtype !== type.dtype || s.numel !== count) {
    throw new TypeError(`${what}: storage "${key}" is declared twice with different types or sizes`);
  }
  if (legacy && view !== null && view !== undefined) {
    // (view_key, offset, size): a slice of the root storage, which alone is serialised.
    const [viewKey, offset, viewSize] = intOrKey(view, what);
    if (offset + viewSize > s.numel) {
      throw new RangeError(`${what}: storage view "${viewKey}" exceeds its root`);
    }
    let v = storages.get(viewKey);
    if (!v) {
      v = new StorageRef(viewKey, s.dtype, viewSize, { root: s, offset });
      storages.set(viewKey, v);
    }
    return v;
  }
  return s;
}

function intOrKey(view: unknown, what: string): [string, number, number] {
  if (
    !isTuple(view) || view.length !== 3 || typeof view[0] !== "string" || !Number.isSafeInteger(view[1]) ||
    !Number.isSafeInteger(view[2]) || (view[1] as number) < 0 || (view[2] as number) < 0
  ) {
    throw new TypeError(`${what}: malformed storage view metadata ${describe(view)}`);
  }
  return [view[0], view[1] as number, view[2] as number];
}

/** Turn the unpickled root into the ordered map of tensors. */
function materialise(root: unknown, what: string): Map<string, NdArray> {
  if (!(root instanceof Map)) {
    throw new TypeError(`${what}: the checkpoint holds ${describe(root)}, not a state_dict`);
  }
  const out = new Map<string, NdArray>();
  for (const [key, t] of root) {
    if (typeof key !== "string") {
      throw new TypeError(`${what}: state_dict key ${describe(key)} is not a string`);
    }
    if (!(t instanceof TensorRef)) {
      throw new TypeError(`${what}: state_dict entry "${key}" is ${describe(t)}, not a tensor`);
    }
    const s = t.storage;
    const sdata = s.resolve();
    if (!sdata) throw new SyntaxError(`${what}: storage "${s.key}" of "${key}" has no data`);
    const n = numel(t.shape, `${what}: "${key}"`);
    const [lo, hi] = stridedExtent(t.shape, t.strides);
    if (n > 0 && (t.offset + lo < 0 || t.offset + hi >= s.numel)) {
      throw new RangeError(
        `${what}: tensor "${key}" of shape ${fmtShape(t.shape)} (offset ${t.offset}, strides ` +
          `${fmtShape(t.strides)}) reaches outside its storage of ${s.numel} elements`,
      );
    }
    const data = isContiguous(t.shape, t.strides)
      ? sdata.subarray(t.offset, t.offset + n)
      : gatherStrided(sdata, s.dtype, t.offset, t.shape, t.strides);
    out.set(key, { dtype: s.dtype, shape: t.shape, data });
  }
  return out;
}

/**
 * Load a PyTorch state_dict (legacy or zip format) as an ordered map of arrays, in the order it was saved.
 * Tensors sharing a storage (e.g. tied embeddings) share memory; strided views are materialised.
 * Refuses any pickle global outside tensors, storages and `collections.OrderedDict`.
 */
export async function loadTorchStateDict(path: string): Promise<Map<string, NdArray>> {
  const what = `Cannot load checkpoint "${path}"`;
  const { buf, size } = await readWithSlack(path, 8);
  const bytes = buf.subarray(0, size);
  if (size >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return await loadZip(bytes, path, what);
  }
  if (size > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar") {
    throw new TypeError(`${what}: the pre-0.4 tar checkpoint format is not supported`);
  }
  return loadLegacy(buf, size, path, what);
}

function loadLegacy(buf: Uint8Array, size: number, path: string, what: string): Map<string, NdArray> {
  let bytes = buf.subarray(0, size);
  const globals = torchGlobals(what);
  const magic = unpickle(bytes, { name: path });
  if (magic.value !== LEGACY_MAGIC) {
    throw new SyntaxError(`${what}: not a PyTorch checkpoint (bad magic number)`);
  }
  const proto = unpickle(bytes, { name: path, start: magic.end });
  if (proto.value !== LEGACY_PROTOCOL) throw new SyntaxError(`${what}: unsupported protocol ${proto.value}`);
  const sys = unpickle(bytes, { name: path, start: proto.end });
  if (sys.value instanceof Map && sys.value.get("little_endian") === false) {
    throw new TypeError(`${what}: big-endian checkpoints are not supported`);
  }
  const storages = new Map<string, StorageRef>();
  const obj = unpickle(bytes, {
    name: path,
    globals,
    start: sys.end,
    persistentLoad: (pid) => storageFromPid(pid, storages, what, true),
  });
  const keys = unpickle(bytes, { name: path, start: obj.end });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === "string")) {
    throw new SyntaxError(`${what}: storage key list is malformed`);
  }
  // Shift everything so the first storage's data (after its 8-byte count) is 8-byte aligned: then every
  // float32 storage is a zero-copy view. The buffer has 8 bytes of slack for this.
  let p = keys.end;
  const shift = (8 - ((buf.byteOffset + p + 8) % 8)) % 8;
  if (shift) {
    buf.copyWithin(shift, 0, size);
    bytes = buf.subarray(shift, shift + size);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys.value as string[]) {
    const s = storages.get(key);
    if (!s || s.base) throw new SyntaxError(`${what}: storage "${key}" is listed but never used`);
    if (s.data) throw new SyntaxError(`${what}: storage "${key}" is listed twice`);
    if (p + 8 > size) throw new SyntaxError(`${what}: storage "${key}" header is missing (truncated?)`);
    const count = dv.getBigInt64(p, true);
    if (count !== BigInt(s.numel)) {
      throw new SyntaxError(`${what}: storage "${key}" holds ${count} elements, the pickle says ${s.numel}`);
    }
    p += 8;
    const nbytes = s.numel * ITEMSIZE[s.dtype];
    if (p + nbytes > size) {
      throw new SyntaxError(
        `${what}: storage "${key}" needs ${nbytes} bytes at ${p}, the file ends at ${size} (truncated?)`,
      );
    }
    s.data = viewOrCopy(bytes, p, s.numel, s.dtype);
    p += nbytes;
  }
  if (p !== size) throw new SyntaxError(`${what}: ${size - p} unexpected bytes after the last storage`);
  return materialise(obj.value, what);
}

async function loadZip(bytes: Uint8Array, path: string, what: string): Promise<Map<string, NdArray>> {
  const entries = parseZip(bytes, path);
  const pkl = entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (!pkl) throw new SyntaxError(`${what}: zip archive has no <archive>/data.pkl record`);
  const prefix = pkl.name.slice(0, -"data.pkl".length);
  const byName = new Map<string, ZipEntry>(entries.map((e) => [e.name, e]));
  const order = byName.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(await readZipEntry(bytes, order, path)).trim() !== "little") {
    throw new TypeError(`${what}: big-endian checkpoints are not supported`);
  }
  const storages = new Map<string, StorageRef>();
  const { value } = unpickle(await readZipEntry(bytes, pkl, path), {
    name: `${path}:${pkl.name}`,
    globals: torchGlobals(what),
    persistentLoad: (pid) => storageFromPid(pid, storages, what, false),
  });
  for (const s of storages.values()) {
    if (s.base) continue;
    const e = byName.get(`${prefix}data/${s.key}`);
    if (!e) throw new SyntaxError(`${what}: record data/${s.key} is missing`);
    const nbytes = s.numel * ITEMSIZE[s.dtype];
    if (e.size < nbytes) {
      throw new SyntaxError(`${what}: record data/${s.key} has ${e.size} bytes, the tensor needs ${nbytes}`);
    }
    const raw = await readZipEntry(bytes, e, path);
    s.data = viewOrCopy(raw, 0, s.numel, s.dtype);
  }
  return materialise(value, what);
}
