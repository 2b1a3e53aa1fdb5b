/**
 * The n-dimensional array type shared by every reader and writer of this member: a dtype name, a shape and
 * a row-major (C order) typed array. Also element sizes, allocation with size checks, strided copies and
 * the conversion to float32.
 *
 * @module
 */

/** Element types the readers produce and the writers accept. */
export type DType =
  | "float16"
  | "bfloat16"
  | "float32"
  | "float64"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "bool";

/** Typed array holding the elements of an {@linkcode NdArray}. */
export type NdData =
  | Float16Array
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array;

/**
 * A row-major array. `data.length` equals the product of `shape` (1 for a 0-d array).
 * float16 is a `Float16Array`; bfloat16 a `Uint16Array` of the raw bits; int64 a `BigInt64Array`;
 * bool and uint8 a `Uint8Array` (bool elements are 0 or 1).
 */
export interface NdArray {
  dtype: DType;
  shape: number[];
  data: NdData;
}

/** Bytes per element of each dtype. */
export const ITEMSIZE: Readonly<Record<DType, number>> = {
  float16: 2,
  bfloat16: 2,
  float32: 4,
  float64: 8,
  int8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  uint8: 1,
  bool: 1,
};

/** Every dtype name, for validation. */
export const DTYPES: readonly DType[] = Object.keys(ITEMSIZE) as DType[];

/**
 * Largest number of elements a single array may have (2^32, i.e. 16 GiB of float32). Headers claiming
 * more are rejected before anything is allocated.
 */
export const MAX_ELEMENTS = 2 ** 32;

type TypedCtor = {
  new (n: number): NdData;
  new (buf: ArrayBufferLike, byteOffset: number, length: number): NdData;
};

const CTORS: Readonly<Record<DType, TypedCtor>> = {
  float16: Float16Array,
  bfloat16: Uint16Array,
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** Number of elements of a shape, validated: non-negative integers, at most {@linkcode MAX_ELEMENTS}. */
export function numel(shape: readonly number[], what = "array"): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`${what}: invalid dimension ${d} in shape [${shape.join(", ")}]`);
    }
    n *= d;
  }
  if (n > MAX_ELEMENTS) {
    throw new RangeError(
      `${what}: shape [${shape.join(", ")}] has ${n} elements, more than the limit of ${MAX_ELEMENTS}`,
    );
  }
  return n;
}

/** Allocate a zero-filled array of a dtype and shape. */
export function zeros(dtype: DType, shape: readonly number[], what = "array"): NdArray {
  const n = numel(shape, what);
  return { dtype, shape: [...shape], data: new CTORS[dtype](n) };
}

/**
 * A typed-array view of `length` elements of `dtype` on `bytes` starting at byte `offset` (relative to
 * `bytes`), without copying when the address is aligned, else a copy. The caller checks the bounds.
 */
export function viewOrCopy(bytes: Uint8Array, offset: number, length: number, dtype: DType): NdData {
  const size = ITEMSIZE[dtype];
  const start = bytes.byteOffset + offset;
  if (start % size === 0) return new CTORS[dtype](bytes.buffer, start, length);
  const out = new CTORS[dtype](length);
  new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + length * size));
  return out;
}

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(data: NdData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Reverse the byte order of every element in place (for big-endian files). */
export function byteSwapInPlace(bytes: Uint8Array, itemsize: number): void {
  if (itemsize === 1) return;
  for (let i = 0; i < bytes.length; i += itemsize) {
    for (let a = i, b = i + itemsize - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Row-major strides (in elements) of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

/**
 * Gather a strided view into a new row-major array: element `idx` of the result is
 * `src[offset + sum(idx[d] * strides[d])]`. The caller checks that every address is in bounds.
 */
export function gatherStrided(
  src: NdData,
  dtype: DType,
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
): NdData {
  const n = numel(shape);
  const out = new CTORS[dtype](n);
  if (n === 0) return out;
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  // Walk the last dimension in an inner loop, odometer over the others.
  const last = nd - 1;
  const inner = nd === 0 ? 1 : shape[last]!;
  const innerStride = nd === 0 ? 0 : strides[last]!;
  let base = offset;
  // deno-lint-ignore no-explicit-any
  const s = src as any, o = out as any;
  for (let i = 0; i < n; i += inner) {
    for (let j = 0, p = base; j < inner; j++, p += innerStride) o[i + j] = s[p];
    // advance the odometer over dimensions [0, last)
    for (let d = last - 1; d >= 0; d--) {
      idx[d]!++;
      base += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Smallest and largest element offset a strided view touches (relative to `offset`); [0, -1] when empty.
 */
export function stridedExtent(shape: readonly number[], strides: readonly number[]): [number, number] {
  let lo = 0, hi = 0;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return [0, -1];
    const span = (shape[d]! - 1) * strides[d]!;
    if (span < 0) lo += span;
    else hi += span;
  }
  return [lo, hi];
}

/** Whether strides describe a row-major contiguous layout of the shape (size-1 dims are free). */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    if (strides[d] !== expect) return false;
    expect *= shape[d]!;
  }
  return true;
}

/** Convert a bfloat16 bit pattern to a number. */
export function bf16ToNumber(bits: number): number {
  const f = new Float32Array(1);
  new Uint32Array(f.buffer)[0] = bits << 16;
  return f[0]!;
}

/**
 * Any numeric array as a `Float32Array`: the same buffer for float32 (no copy), a converted copy for the
 * other numeric dtypes (int64 beyond 2^24 loses precision as it does in `torch.float()`). bool is refused.
 */
export function toFloat32(a: NdArray): Float32Array {
  const { data } = a;
  switch (a.dtype) {
    case "float32":
      return data as Float32Array;
    case "bfloat16": {
      const bits = data as Uint16Array;
      const out = new Float32Array(bits.length);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) u[i] = bits[i]! << 16;
      return out;
    }
    case "int64": {
      const src = data as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]!);
      return out;
    }
    case "bool":
      throw new TypeError(
        `toFloat32: cannot convert a bool array of shape [${a.shape.join(", ")}] to float32; ` +
          `expected a numeric dtype (float16, bfloat16, float32, float64, int8..int64, uint8)`,
      );
    case "float16":
    case "float64":
    case "int8":
    case "int16":
    case "int32":
    case "uint8": {
      const out = new Float32Array(data.length);
      out.set(data as Exclude<NdData, BigInt64Array>); // native element conversion
      return out;
    }
    default:
      throw new TypeError(`toFloat32: unknown dtype ${JSON.stringify(a.dtype)}`);
  }
}

/** `[2, 3]` → `"[2, 3]"`, for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Column-major (Fortran order) strides (in elements) of a shape. */
export function fortranStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = 0; d < shape.length; d++) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}
