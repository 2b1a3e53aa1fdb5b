/**
 * `.npy` files (numpy format versions 1.0, 2.0, 3.0): read numeric arrays of either byte order and either
 * memory order, read object arrays through the safe pickle reader, write little-endian C-order arrays.
 *
 * @module
 */
import { type DType, fmtShape, ITEMSIZE, type NdArray, numel } from "./ndarray.ts";
import { arrayFromBytes, type Descr, descrOf, parseDescr, stringsFromBytes } from "./npy_descr.ts";
import { numpyGlobals, toPlain } from "./numpy_pickle.ts";
import { type PyGlobal, unpickle } from "./pickle.ts";
import { Pickler } from "./pickle_writer.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** The parsed header of a `.npy` file. */
export interface NpyHeader {
  descr: Descr;
  /** Descriptor text as written, e.g. `"<f2"`. */
  descrText: string;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/** Parse the header of a `.npy` file; `name` is used in messages. */
export function readNpyHeader(bytes: Uint8Array, name = "<bytes>"): NpyHeader {
  const what = `Cannot read npy "${name}"`;
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new SyntaxError(`${what}: not a .npy file (bad magic, or truncated)`);
  }
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number, start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new SyntaxError(`${what}: truncated header`);
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new SyntaxError(`${what}: unsupported format version ${major}.${bytes[7]}`);
  }
  if (start + headerLen > bytes.length) {
    throw new SyntaxError(`${what}: header of ${headerLen} bytes runs past the end (truncated?)`);
  }
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLen),
  );
  let dict: unknown;
  try {
    dict = parsePyLiteral(text);
  } catch (e) {
    throw new SyntaxError(`${what}: header is not a Python literal: ${(e as Error).message}`);
  }
  if (!(dict instanceof Map)) throw new SyntaxError(`${what}: header is not a dict`);
  const descrText = dict.get("descr"), fortran = dict.get("fortran_order"), shape = dict.get("shape");
  if (typeof descrText !== "string") {
    throw new TypeError(
      `${what}: header "descr" must be a simple dtype string (structured arrays unsupported)`,
    );
  }
  if (typeof fortran !== "boolean") throw new SyntaxError(`${what}: header "fortran_order" must be a bool`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SyntaxError(`${what}: header "shape" must be a tuple of non-negative ints`);
  }
  numel(shape as number[], what);
  return {
    descr: parseDescr(descrText, what),
    descrText,
    fortranOrder: fortran,
    shape: shape as number[],
    dataOffset: start + headerLen,
  };
}

/**
 * Read a numeric `.npy` array from bytes. The result views `bytes` (no copy) when the data is
 * little-endian, C-ordered and aligned; otherwise it is one converted copy. `name` is used in messages.
 */
export function readNpy(bytes: Uint8Array, name = "<bytes>"): NdArray {
  const h = readNpyHeader(bytes, name);
  const what = `Cannot read npy "${name}"`;
  if (h.descr.kind !== "numeric") {
    throw new TypeError(
      `${what}: dtype ${
        JSON.stringify(h.descrText)
      } is not numeric; use readNpyObjects for object/string arrays`,
    );
  }
  return arrayFromBytes(
    bytes.subarray(h.dataOffset),
    h.descr.dtype,
    h.shape,
    h.descr.bigEndian,
    h.fortranOrder,
    what,
  );
}

/** Read a numeric `.npy` file. */
export async function readNpyFile(path: string): Promise<NdArray> {
  return readNpy(await Deno.readFile(path), path);
}

/** An object or string array: its shape and its elements in row-major order. */
export interface NpyObjects {
  shape: number[];
  items: unknown[];
}

/**
 * Read an object (`|O`, a pickle inside) or fixed-width string (`<U`, `|S`) `.npy` array. Elements are
 * plain data (see `toPlain`): dicts with string keys become objects, tuples arrays. The pickle may only
 * use numpy's own globals.
 */
export function readNpyObjects(bytes: Uint8Array, name = "<bytes>"): NpyObjects {
  const h = readNpyHeader(bytes, name);
  const what = `Cannot read npy "${name}"`;
  const count = numel(h.shape, what);
  if (h.descr.kind === "numeric") {
    throw new TypeError(`${what}: dtype ${JSON.stringify(h.descrText)} is numeric; use readNpy`);
  }
  if (h.descr.kind !== "object") {
    const flat = stringsFromBytes(bytes.subarray(h.dataOffset), h.descr, count, what);
    return { shape: h.shape, items: flat };
  }
  const globals = new Map<string, PyGlobal>(numpyGlobals(what));
  const { value } = unpickle(bytes, { name, globals, start: h.dataOffset });
  const plain = toPlain(value, what);
  // np.save pickles the whole array, so the pickle holds an array of the header's shape.
  const items = flatten(plain, h.shape.length);
  if (items.length !== count) {
    throw new SyntaxError(
      `${what}: header shape ${fmtShape(h.shape)} but the pickle holds ${items.length} items`,
    );
  }
  return { shape: h.shape, items };
}

function flatten(v: unknown, depth: number): unknown[] {
  if (depth === 0) return [v];
  if (!Array.isArray(v)) throw new SyntaxError(`object array pickle does not hold a list`);
  return depth === 1 ? v : v.flatMap((x) => flatten(x, depth - 1));
}

/** Read an object `.npy` file (see {@linkcode readNpyObjects}). */
export async function readNpyObjectsFile(path: string): Promise<NpyObjects> {
  return readNpyObjects(await Deno.readFile(path), path);
}

/**
 * Encode an array as `.npy` bytes (format 1.0, or 2.0 for huge headers; little-endian, C order). bfloat16
 * has no numpy dtype and is refused.
 */
export function writeNpy(arr: NdArray): Uint8Array {
  const what = `Cannot write npy of shape ${fmtShape(arr.shape)}`;
  const dtype: DType = arr.dtype;
  const n = numel(arr.shape, what);
  if (arr.data.length !== n) {
    throw new TypeError(`${what}: data has ${arr.data.length} elements, the shape needs ${n}`);
  }
  const nbytes = n * ITEMSIZE[dtype];
  return npyBytes(
    descrOf(dtype, what),
    arr.shape,
    new Uint8Array(arr.data.buffer, arr.data.byteOffset, nbytes),
  );
}

/**
 * Encode a 1-d object array as `.npy` bytes, as `np.save(path, np.array(items, dtype=object))` writes it:
 * descr `|O` and a protocol-3 pickle of the numpy array (`numpy.core.multiarray._reconstruct` + `BUILD`),
 * whose elements are plain data (see `Pickler.value`: dicts, lists, strings, ints, floats, booleans, None).
 * This is the layout of Pythia's VQA imdb files; {@linkcode readNpyObjects} and `np.load(allow_pickle=True)`
 * read it back.
 */
export function writeNpyObjects(items: readonly unknown[]): Uint8Array {
  const pk = new Pickler().proto(3);
  pk.global("numpy.core.multiarray", "_reconstruct");
  pk.global("numpy", "ndarray").intTuple([0]).binBytes(new Uint8Array([0x62])).byte(0x87, 0x52); // TUPLE3 REDUCE
  pk.byte(0x28).int(1).intTuple([items.length]); // MARK version shape
  pk.global("numpy", "dtype").str("O8").bool(false).bool(true).byte(0x87, 0x52); // dtype('O8', False, True)
  pk.byte(0x28).int(3).str("|").none().none().none().int(-1).int(-1).int(63).byte(0x74, 0x62); // dtype BUILD
  pk.bool(false).value([...items]).byte(0x74, 0x62).stop(); // fortran_order, items: TUPLE BUILD STOP
  return npyBytes("|O", [items.length], pk.bytes());
}

/** Header (padded to a multiple of 64 bytes, version 1.0 unless it needs 2.0) followed by the data bytes. */
function npyBytes(descr: string, shapeDims: readonly number[], data: Uint8Array): Uint8Array {
  const shape = shapeDims.length === 1 ? `(${shapeDims[0]},)` : `(${shapeDims.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let v1 = true;
  let pre = 10;
  // total header (magic + version + length + text) padded to a multiple of 64, ending in "\n"
  let total = Math.ceil((pre + header.length + 1) / 64) * 64;
  if (total - pre > 0xffff) {
    v1 = false;
    pre = 12;
    total = Math.ceil((pre + header.length + 1) / 64) * 64;
  }
  header = header.padEnd(total - pre - 1, " ") + "\n";
  const out = new Uint8Array(total + data.length);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (v1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(data, total);
  return out;
}

/**
 * Parse the Python literal subset numpy headers use: dicts, tuples, lists, strings, ints (with an optional
 * Python 2 `L`), True/False/None. Tuples and lists become arrays, dicts `Map`s.
 */
export function parsePyLiteral(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const err = (why: string): never => {
    throw new SyntaxError(`${why} at column ${i}`);
  };
  const value = (depth: number): unknown => {
    if (depth > 32) err("nesting too deep");
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const m = new Map<unknown, unknown>();
      for (;;) {
        ws();
        if (text[i] === "}") {
          i++;
          return m;
        }
        const k = value(depth + 1);
        ws();
        if (text[i] !== ":") err("expected ':'");
        i++;
        m.set(k, value(depth + 1));
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") err("expected ',' or '}'");
      }
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      i++;
      const items: unknown[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return items;
        }
        items.push(value(depth + 1));
        ws();
        if (text[i] === ",") i++;
        else if (text[i] !== close) err(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) err("unterminated string");
      const s = text.slice(i + 1, end);
      if (s.includes("\\")) err("escapes in strings are not supported");
      i = end + 1;
      return s;
    }
    const m = /^(-?\d+)L?|^(True|False|None)/.exec(text.slice(i, i + 40));
    if (!m) err("unexpected token");
    i += m![0].length;
    if (m![2]) return m![2] === "True" ? true : m![2] === "False" ? false : null;
    const v = Number(m![1]);
    if (!Number.isSafeInteger(v)) err(`integer ${m![1]} is too large`);
    return v;
  };
  const v = value(0);
  ws();
  if (i !== text.length) err("trailing characters");
  return v;
}
