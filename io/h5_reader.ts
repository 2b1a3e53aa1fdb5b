/**
 * Read HDF5 datasets through h5wasm (the HDF5 C library compiled to WebAssembly, reading real files).
 * h5wasm's high-level API refuses float16, so every read goes through its low-level `get_dataset_data`
 * into a wasm buffer and is copied out as the matching typed array; float16 comes back as a
 * `Float16Array`, exactly as stored.
 *
 * HDF5 errors become JavaScript exceptions (h5wasm's throwing error handler) and are re-thrown as
 * `SyntaxError`s naming the file and dataset. Shapes are checked against a size limit and, for contiguous
 * datasets, against the file size before any buffer is allocated.
 *
 * @module
 */
import * as h5wasm from "h5wasm/node";
import { type DType, fmtShape, ITEMSIZE, type NdArray, type NdData, numel } from "./ndarray.ts";

let module: typeof h5wasm.Module | undefined;

/** Load h5wasm once (a few tens of milliseconds). */
async function h5(): Promise<typeof h5wasm.Module> {
  if (!module) {
    await h5wasm.ready;
    module = h5wasm.Module;
    module.activate_throwing_error_handler();
  }
  return module;
}

/** First meaningful line of an HDF5 error stack, for messages. */
function h5Reason(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  const minors = [...text.matchAll(/minor: (.*)/g)].map((m) => m[1]!.trim());
  const errno = /error message = '([^']*)'/.exec(text)?.[1];
  return errno ?? minors.slice(-1)[0] ?? text.split("\n")[0]!;
}

const FLOATS: Readonly<Record<number, DType>> = { 2: "float16", 4: "float32", 8: "float64" };
const INTS: Readonly<Record<number, DType>> = { 1: "int8", 2: "int16", 4: "int32", 8: "int64" };

/** Shape and dtype of a dataset. */
export interface H5DatasetInfo {
  shape: number[];
  dtype: DType;
  /** Contiguous (not chunked or filtered) storage. */
  contiguous: boolean;
}

/** An HDF5 file open for reading. Close it when done (h5wasm holds the file open). */
export class H5File {
  readonly path: string;
  #file: h5wasm.File;
  #module: typeof h5wasm.Module;
  #size: number;
  #keys: Set<string> | undefined;
  #info = new Map<string, H5DatasetInfo>();

  private constructor(path: string, file: h5wasm.File, mod: typeof h5wasm.Module, size: number) {
    this.path = path;
    this.#file = file;
    this.#module = mod;
    this.#size = size;
  }

  /** Open a file read-only; a missing or damaged file is an error naming it. */
  static async open(path: string): Promise<H5File> {
    const mod = await h5();
    let size: number;
    try {
      size = (await Deno.stat(path)).size;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new Deno.errors.NotFound(`Cannot open HDF5 "${path}": no such file`);
      }
      throw e;
    }
    let file: h5wasm.File;
    try {
      file = new h5wasm.File(path, "r");
    } catch (e) {
      throw new SyntaxError(
        `Cannot open HDF5 "${path}": ${h5Reason(e)} (not an HDF5 file, or damaged/truncated)`,
      );
    }
    return new H5File(path, file, mod, size);
  }

  /** Names of the datasets and groups in the root group. */
  keys(): string[] {
    return [...this.#keySet()];
  }

  #keySet(): Set<string> {
    if (!this.#keys) {
      try {
        this.#keys = new Set(this.#file.keys());
      } catch (e) {
        throw new SyntaxError(`Cannot list HDF5 "${this.path}": ${h5Reason(e)}`);
      }
    }
    return this.#keys;
  }

  /** Whether the root group has an entry `name`. */
  has(name: string): boolean {
    return this.#keySet().has(name);
  }

  /** Shape and dtype of dataset `name` (looked up once per name). */
  info(name: string): H5DatasetInfo {
    let info = this.#info.get(name);
    if (!info) {
      info = this.#lookup(name);
      this.#info.set(name, info);
    }
    return info;
  }

  #lookup(name: string): H5DatasetInfo {
    const what = `Cannot read HDF5 "${this.path}": dataset "${name}"`;
    if (!this.has(name)) throw new RangeError(`${what} does not exist`);
    let meta: {
      type: number;
      size: number;
      signed: boolean;
      littleEndian: boolean;
      shape: number[];
      chunks: unknown;
    };
    try {
      meta = this.#module.get_dataset_metadata(this.#file.file_id, "/" + name) as typeof meta;
    } catch (e) {
      throw new SyntaxError(`${what}: ${h5Reason(e)}`);
    }
    if (!meta || !Array.isArray(meta.shape)) throw new TypeError(`${what} is not a dataset`);
    let dtype: DType | undefined;
    if (meta.type === 1) dtype = FLOATS[meta.size];
    else if (meta.type === 0) dtype = meta.signed ? INTS[meta.size] : meta.size === 1 ? "uint8" : undefined;
    if (!dtype) {
      throw new TypeError(`${what} has an unsupported type (class ${meta.type}, ${meta.size} bytes)`);
    }
    return {
      shape: meta.shape.map(Number),
      dtype,
      contiguous: meta.chunks === null || meta.chunks === undefined,
    };
  }

  /** Read a whole dataset (any byte order on disk; little-endian in memory). */
  read(name: string): NdArray {
    const what = `Cannot read HDF5 "${this.path}": dataset "${name}"`;
    const { shape, dtype, contiguous } = this.info(name);
    const n = numel(shape, what);
    const nbytes = n * ITEMSIZE[dtype];
    if (contiguous && nbytes > this.#size) {
      throw new SyntaxError(
        `${what}: shape ${fmtShape(shape)} needs ${nbytes} bytes, the file has ${this.#size}`,
      );
    }
    const M = this.#module;
    const ptr = M._malloc(Math.max(1, nbytes));
    if (!ptr) throw new RangeError(`${what}: cannot allocate ${nbytes} bytes in the wasm heap`);
    try {
      if (n > 0) M.get_dataset_data(this.#file.file_id, "/" + name, null, null, null, BigInt(ptr));
      const data = typed(dtype, M.HEAPU8.slice(ptr, ptr + nbytes).buffer);
      return { dtype, shape, data };
    } catch (e) {
      throw new SyntaxError(`${what}: ${h5Reason(e)}`);
    } finally {
      M._free(ptr);
    }
  }

  /** Release the file. */
  close(): void {
    try {
      this.#file.close();
    } catch { /* closing a damaged file can fail; nothing to release then */ }
  }
}

function typed(dtype: DType, buf: ArrayBuffer): NdData {
  switch (dtype) {
    case "float16":
      return new Float16Array(buf);
    case "float32":
      return new Float32Array(buf);
    case "float64":
      return new Float64Array(buf);
    case "int8":
      return new Int8Array(buf);
    case "int16":
      return new Int16Array(buf);
    case "int32":
      return new Int32Array(buf);
    case "int64":
      return new BigInt64Array(buf);
    default:
      return new Uint8Array(buf);
  }
}

/** Read every dataset of a file into a map (small files only, e.g. tests). */
export async function readH5(path: string): Promise<Map<string, NdArray>> {
  const f = await H5File.open(path);
  try {
    return new Map(f.keys().map((k) => [k, f.read(k)]));
  } finally {
    f.close();
  }
}
