/**
 * The numpy globals a pickle may use (arrays, dtypes, scalars), as allowlist handlers for the safe pickle
 * reader, and {@linkcode toPlain} to turn an unpickled value into plain JavaScript data.
 *
 * @module
 */
import { type NdArray, numel } from "./ndarray.ts";
import { arrayFromBytes, type Descr, parseDescr, stringsFromBytes } from "./npy_descr.ts";
import { describe, isTuple, type PyBuildable, pyFunction, type PyGlobal, unpickle } from "./pickle.ts";

/** `numpy.dtype(...)` as unpickled; its byte order arrives through `BUILD`. */
export class NumpyDtype implements PyBuildable {
  constructor(readonly code: string, public order = "=") {}
  setState(state: unknown): void {
    if (isTuple(state) && state[1] instanceof Uint8Array) {
      state = Object.freeze([state[0], py2Text(state[1]), ...state.slice(2)]);
    }
    if (!isTuple(state) || state.length < 2 || typeof state[1] !== "string") {
      throw new TypeError(`numpy.dtype state: expected (version, byteorder, ...), got ${describe(state)}`);
    }
    if (state[3] !== null && state[3] !== undefined) {
      throw new TypeError(`numpy.dtype: structured dtypes are not supported`);
    }
    this.order = state[1];
  }
  descr(what: string): Descr {
    return parseDescr(`${this.order === "=" ? "<" : this.order}${this.code}`, what);
  }
}

/** A Python 2 `str` read as bytes (`py2Str: "bytes"`) that numpy uses as text (type codes, byte order). */
function py2Text(b: Uint8Array): string {
  return String.fromCharCode(...b.subarray(0, 64));
}

/** A numpy array under construction (`_reconstruct` followed by `BUILD`). */
export class NumpyArray implements PyBuildable {
  /** Numeric arrays as {@linkcode NdArray}; object/string arrays as a flat list plus shape. */
  value: NdArray | { shape: number[]; items: unknown[] } | undefined;
  constructor(readonly what: string) {}
  setState(state: unknown): void {
    const w = this.what;
    if (!isTuple(state) || state.length !== 5) {
      throw new TypeError(`${w}: numpy array state must be a 5-tuple, got ${describe(state)}`);
    }
    const [, shapeV, dtype, fortranV, raw] = state;
    if (!isTuple(shapeV) || !shapeV.every((d) => typeof d === "number")) {
      throw new TypeError(`${w}: numpy array shape must be a tuple of ints`);
    }
    if (!(dtype instanceof NumpyDtype)) throw new TypeError(`${w}: numpy array dtype is ${describe(dtype)}`);
    const shape = [...shapeV] as number[];
    const count = numel(shape, w);
    const d = dtype.descr(w);
    const fortran = fortranV === true;
    if (d.kind === "object") {
      if (!Array.isArray(raw) || raw.length !== count) {
        throw new TypeError(`${w}: object array of ${count} elements holds ${describe(raw)}`);
      }
      this.value = { shape, items: fortran && shape.length > 1 ? fromFortran(raw, shape) : [...raw] };
      return;
    }
    if (!(raw instanceof Uint8Array)) throw new TypeError(`${w}: numpy array data is ${describe(raw)}`);
    if (d.kind === "numeric") this.value = arrayFromBytes(raw, d.dtype, shape, d.bigEndian, fortran, w);
    else {
      const items = stringsFromBytes(raw, d, count, w);
      this.value = { shape, items: fortran && shape.length > 1 ? fromFortran(items, shape) : items };
    }
  }
}

function fromFortran<T>(items: readonly T[], shape: readonly number[]): T[] {
  const n = items.length, out = new Array<T>(n), nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  for (let i = 0; i < n; i++) {
    let f = 0, s = 1;
    for (let d = 0; d < nd; d++) {
      f += idx[d]! * s;
      s *= shape[d]!;
    }
    out[i] = items[f]!;
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

function scalar(args: readonly unknown[], what: string): unknown {
  const [dtype, raw] = args;
  if (!(dtype instanceof NumpyDtype)) throw new TypeError(`${what}: numpy scalar without a dtype`);
  const d = dtype.descr(what);
  if (d.kind === "object") return raw;
  if (!(raw instanceof Uint8Array)) throw new TypeError(`${what}: numpy scalar data is ${describe(raw)}`);
  if (d.kind !== "numeric") return stringsFromBytes(raw, d, 1, what)[0];
  const a = arrayFromBytes(raw.slice(), d.dtype, [], d.bigEndian, false, what);
  const v = a.data[0]!;
  if (typeof v === "bigint") {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  return d.dtype === "bool" ? v !== 0 : v;
}

/** Allowlist entries for numpy arrays, dtypes and scalars (numpy 1.x and 2.x module names). */
export function numpyGlobals(what: string): [string, PyGlobal][] {
  const out: [string, PyGlobal][] = [];
  const ndarray = pyFunction("numpy.ndarray", () => {
    throw new TypeError(`${what}: numpy.ndarray cannot be called directly`);
  });
  out.push(["numpy.ndarray", ndarray]);
  out.push([
    "numpy.dtype",
    pyFunction("numpy.dtype", (args) => {
      const code = args[0] instanceof Uint8Array ? py2Text(args[0]) : args[0];
      if (typeof code !== "string") throw new TypeError(`${what}: numpy.dtype needs a type code`);
      return new NumpyDtype(code);
    }),
  ]);
  for (const mod of ["numpy.core.multiarray", "numpy._core.multiarray"]) {
    out.push([
      `${mod}._reconstruct`,
      pyFunction(`${mod}._reconstruct`, (args) => {
        if (args[0] !== ndarray) throw new TypeError(`${what}: _reconstruct of ${describe(args[0])}`);
        return new NumpyArray(what);
      }),
    ]);
    out.push([`${mod}.scalar`, pyFunction(`${mod}.scalar`, (args) => scalar(args, what))]);
  }
  return out;
}

/** Nesting limit of {@linkcode toPlain}. */
const MAX_DEPTH = 200;

/**
 * Turn an unpickled value into plain data: dicts with string keys → objects (other dicts stay `Map`),
 * tuples → arrays, numpy numeric arrays → {@linkcode NdArray}, numpy object/string arrays → (nested) arrays.
 */
export function toPlain(v: unknown, what: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new RangeError(`${what}: data nested deeper than ${MAX_DEPTH} levels`);
  if (v instanceof NumpyArray) {
    if (!v.value) throw new SyntaxError(`${what}: numpy array without state`);
    if ("items" in v.value) return nest(v.value.items.map((x) => toPlain(x, what, depth + 1)), v.value.shape);
    return v.value;
  }
  if (Array.isArray(v)) return v.map((x) => toPlain(x, what, depth + 1));
  if (v instanceof Map) {
    if ([...v.keys()].every((k) => typeof k === "string")) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of v) o[k as string] = toPlain(x, what, depth + 1);
      return o;
    }
    return new Map([...v].map(([k, x]) => [k, toPlain(x, what, depth + 1)]));
  }
  if (v instanceof Set) return new Set([...v].map((x) => toPlain(x, what, depth + 1)));
  if (v instanceof NumpyDtype) throw new TypeError(`${what}: a bare numpy dtype is not data`);
  return v;
}

/** Reshape a flat row-major list into nested arrays (a 1-d shape gives the list itself). */
function nest(items: unknown[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return shape.length === 0 ? items[0] : items;
  const [d0, ...rest] = shape as [number, ...number[]];
  const step = d0 === 0 ? 0 : items.length / d0;
  const out: unknown[] = [];
  for (let i = 0; i < d0; i++) out.push(nest(items.slice(i * step, (i + 1) * step), rest));
  return out;
}

/** Options of {@linkcode readNumpyPickle}. */
export interface NumpyPickleOptions {
  /** File name for messages. */
  name?: string;
  /** What a Python 2 `str` becomes (see `UnpickleOptions.py2Str`). */
  py2Str?: "text" | "bytes";
}

/**
 * A pickle of plain data and numpy arrays (a `.pkl` written by `pickle.dump`, Python 2 or 3) as plain
 * JavaScript data ({@linkcode toPlain}). Only numpy's array, dtype and scalar globals are allowed, and
 * `_codecs.encode(text, "latin1")`, through which Python 3 pickles bytes at protocol 2; any other global is
 * an error naming it, and nothing in the file is executed.
 */
export function readNumpyPickle(bytes: Uint8Array, opts: NumpyPickleOptions = {}): unknown {
  const name = opts.name ?? "<bytes>";
  const what = `Cannot read pickle "${name}"`;
  const globals = new Map<string, PyGlobal>(numpyGlobals(what));
  globals.set(
    "_codecs.encode",
    pyFunction("_codecs.encode", (args) => {
      const [text, enc] = args;
      if (typeof text !== "string" || (enc !== "latin1" && enc !== "latin-1")) {
        throw new TypeError(`${what}: _codecs.encode is only allowed as (str, "latin1")`);
      }
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c > 0xff) throw new RangeError(`${what}: _codecs.encode: character ${c} is not Latin-1`);
        out[i] = c;
      }
      return out;
    }),
  );
  const { value } = unpickle(bytes, { name, globals, py2Str: opts.py2Str });
  return toPlain(value, what);
}
