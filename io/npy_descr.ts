/**
 * numpy dtype descriptors (`"<f4"`, `"|b1"`, `"|O"`, `"<U7"`) and the conversion of raw element bytes to an
 * {@linkcode NdArray}, shared by `.npy` files and numpy arrays inside pickles.
 *
 * @module
 */
import {
  byteSwapInPlace,
  type DType,
  fmtShape,
  fortranStrides,
  gatherStrided,
  ITEMSIZE,
  type NdArray,
  numel,
  viewOrCopy,
} from "./ndarray.ts";

/** A parsed numpy descriptor. */
export type Descr =
  | { kind: "numeric"; dtype: DType; bigEndian: boolean }
  | { kind: "object" }
  | { kind: "unicode"; chars: number; bigEndian: boolean }
  | { kind: "bytes"; length: number };

const NUMERIC: Readonly<Record<string, DType>> = {
  f2: "float16",
  f4: "float32",
  f8: "float64",
  i1: "int8",
  i2: "int16",
  i4: "int32",
  i8: "int64",
  u1: "uint8",
  b1: "bool",
};

/** Parse a descriptor string such as `"<f4"`; `what` names the file for messages. */
export function parseDescr(descr: string, what: string): Descr {
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(descr);
  if (!m) throw new TypeError(`${what}: unsupported dtype descriptor ${JSON.stringify(descr)}`);
  const [, order, code, sizeStr] = m as unknown as [string, string, string, string];
  const bigEndian = order === ">";
  if (code === "O") return { kind: "object" };
  if (code === "U") return { kind: "unicode", chars: Number(sizeStr || 0), bigEndian };
  if (code === "S" || code === "a") return { kind: "bytes", length: Number(sizeStr || 0) };
  const key = code === "?" ? "b1" : code + sizeStr;
  const dtype = NUMERIC[key];
  if (!dtype) {
    throw new TypeError(
      `${what}: dtype ${JSON.stringify(descr)} is not supported; expected one of ` +
        `float16/32/64, int8/16/32/64, uint8, bool`,
    );
  }
  return { kind: "numeric", dtype, bigEndian };
}

/** The little-endian descriptor numpy writes for a dtype; bfloat16 has none. */
export function descrOf(dtype: DType, what: string): string {
  switch (dtype) {
    case "float16":
      return "<f2";
    case "float32":
      return "<f4";
    case "float64":
      return "<f8";
    case "int8":
      return "|i1";
    case "int16":
      return "<i2";
    case "int32":
      return "<i4";
    case "int64":
      return "<i8";
    case "uint8":
      return "|u1";
    case "bool":
      return "|b1";
    case "bfloat16":
      throw new TypeError(`${what}: numpy has no bfloat16 dtype; convert the array to float32 first`);
  }
}

/**
 * Build a row-major array from raw element bytes: a view of `raw` when it is little-endian, C-ordered and
 * aligned, else one copy (byte-swapped and/or transposed from Fortran order). `raw` must hold exactly the
 * elements of `shape`.
 */
export function arrayFromBytes(
  raw: Uint8Array,
  dtype: DType,
  shape: number[],
  bigEndian: boolean,
  fortran: boolean,
  what: string,
): NdArray {
  const n = numel(shape, what);
  const size = ITEMSIZE[dtype];
  if (raw.length !== n * size) {
    throw new SyntaxError(
      `${what}: shape ${fmtShape(shape)} of ${dtype} needs ${n * size} bytes of data, found ${raw.length}` +
        (raw.length < n * size ? " (truncated?)" : ""),
    );
  }
  let data = viewOrCopy(raw, 0, n, dtype);
  if (bigEndian && size > 1) {
    if (data.buffer === raw.buffer) data = viewOrCopy(raw.slice(), 0, n, dtype);
    byteSwapInPlace(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), size);
  }
  if (fortran && shape.length > 1) data = gatherStrided(data, dtype, 0, shape, fortranStrides(shape));
  if (dtype === "bool") {
    const b = data as Uint8Array;
    for (let i = 0; i < b.length; i++) {
      if (b[i]! > 1) throw new SyntaxError(`${what}: bool element ${i} has byte value ${b[i]}`);
    }
  }
  return { dtype, shape, data };
}

/** Decode fixed-width numpy strings (`<U` UTF-32 or `|S` bytes) into a flat list. */
export function stringsFromBytes(
  raw: Uint8Array,
  d: Descr,
  count: number,
  what: string,
): (string | Uint8Array)[] {
  const width = d.kind === "unicode" ? d.chars * 4 : d.kind === "bytes" ? d.length : 0;
  if (raw.length !== count * width) {
    throw new SyntaxError(
      `${what}: ${count} strings of ${width} bytes need ${count * width}, found ${raw.length}`,
    );
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: (string | Uint8Array)[] = [];
  for (let i = 0; i < count; i++) {
    const base = i * width;
    if (d.kind === "unicode") {
      let s = "";
      for (let c = 0; c < d.chars; c++) {
        const cp = dv.getUint32(base + 4 * c, !d.bigEndian);
        if (cp === 0) break;
        if (cp > 0x10ffff) throw new SyntaxError(`${what}: invalid code point ${cp} in string ${i}`);
        s += String.fromCodePoint(cp);
      }
      out.push(s);
    } else {
      let end = base + width;
      while (end > base && raw[end - 1] === 0) end--;
      out.push(raw.slice(base, end));
    }
  }
  return out;
}
