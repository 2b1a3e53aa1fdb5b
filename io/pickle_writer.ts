/**
 * A small pickle writer: the opcodes that PyTorch checkpoints and numpy object arrays (Pythia's VQA imdb
 * files) need, and plain data (None, bool, int, float, str, bytes, list, tuple, dict). It writes what Python's
 * own pickler writes for the same values, minus the memo (`BINPUT`), which readers do not need.
 *
 * JavaScript values map to: `null`/`undefined` → None, `boolean` → bool, a safe-integer `number` or a
 * `bigint` → int, any other `number` → float (wrap an integral value in {@linkcode PyFloat} to keep it a float),
 * `string` → str, `Uint8Array` → bytes, an array → list (a frozen array → tuple, as the reader returns
 * tuples), a `Map` or a plain object → dict. Anything else (functions, class instances, cycles) is refused.
 *
 * @module
 */

/** A Python float that stays a float when its value is integral (`PyFloat(1)` pickles as `1.0`). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Nesting limit: deeper data (or a cycle) is refused. */
const MAX_DEPTH = 200;

/** Opcode-level pickle encoder; {@linkcode Pickler.value} writes whole plain values. */
export class Pickler {
  #buf = new Uint8Array(1024);
  #len = 0;
  #enc = new TextEncoder();
  #f64 = new DataView(new ArrayBuffer(8));

  #reserve(k: number): void {
    if (this.#len + k <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + k));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Raw bytes (opcodes and their fixed arguments). */
  byte(...b: number[]): this {
    this.#reserve(b.length);
    for (const x of b) this.#buf[this.#len++] = x;
    return this;
  }

  /** Raw bytes from an array. */
  raw(b: Uint8Array): this {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** A little-endian uint32. */
  u32(v: number): this {
    return this.byte(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }

  /** `PROTO n`. */
  proto(n: number): this {
    return this.byte(0x80, n);
  }

  /** `GLOBAL module name`. */
  global(module: string, name: string): this {
    return this.byte(0x63).raw(this.#enc.encode(`${module}\n${name}\n`));
  }

  /** `NONE`. */
  none(): this {
    return this.byte(0x4e);
  }

  /** `NEWTRUE` / `NEWFALSE`. */
  bool(v: boolean): this {
    return this.byte(v ? 0x88 : 0x89);
  }

  /** A str (`BINUNICODE`, UTF-8). */
  str(s: string): this {
    const b = this.#enc.encode(s);
    return this.byte(0x58).u32(b.length).raw(b);
  }

  /** bytes (`SHORT_BINBYTES` / `BINBYTES`, protocol 3+). */
  binBytes(b: Uint8Array): this {
    if (b.length < 256) return this.byte(0x43, b.length).raw(b);
    return this.byte(0x42).u32(b.length).raw(b);
  }

  /** An int (`BININT1` / `BININT2` / `BININT`, else `LONG1` two's complement). */
  int(v: number | bigint): this {
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new RangeError(`Cannot pickle ${v} as an int: not a safe integer`);
      if (v >= 0 && v < 256) return this.byte(0x4b, v);
      if (v >= 0 && v < 65536) return this.byte(0x4d, v & 0xff, v >> 8);
      if (v >= -(2 ** 31) && v < 2 ** 31) return this.byte(0x4a).u32(v >>> 0);
    }
    const bytes: number[] = [];
    let x = BigInt(v);
    for (;;) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
      const sign = bytes[bytes.length - 1]! & 0x80;
      if ((x === 0n && !sign) || (x === -1n && sign)) break;
    }
    if (bytes.length > 255) throw new RangeError(`Cannot pickle an int of ${bytes.length} bytes`);
    return this.byte(0x8a, bytes.length, ...bytes);
  }

  /** A float (`BINFLOAT`, big-endian IEEE double). */
  float(v: number): this {
    this.#f64.setFloat64(0, v, false);
    return this.byte(0x47).raw(new Uint8Array(this.#f64.buffer));
  }

  /** A tuple of ints (`EMPTY_TUPLE` or `MARK ... TUPLE`). */
  intTuple(v: readonly number[]): this {
    if (v.length === 0) return this.byte(0x29);
    this.byte(0x28);
    for (const x of v) this.int(x);
    return this.byte(0x74);
  }

  /** Any plain value (see the module documentation for the mapping). */
  value(v: unknown, depth = 0): this {
    if (depth > MAX_DEPTH) throw new RangeError(`Cannot pickle data nested deeper than ${MAX_DEPTH} levels`);
    if (v === null || v === undefined) return this.none();
    if (typeof v === "boolean") return this.bool(v);
    if (typeof v === "bigint") return this.int(v);
    if (typeof v === "number") {
      return Number.isSafeInteger(v) && !Object.is(v, -0) ? this.int(v) : this.float(v);
    }
    if (typeof v === "string") return this.str(v);
    if (v instanceof PyFloat) return this.float(v.value);
    if (v instanceof Uint8Array) return this.binBytes(v);
    if (Array.isArray(v)) {
      const tuple = Object.isFrozen(v);
      if (tuple && v.length === 0) return this.byte(0x29); // EMPTY_TUPLE
      if (!tuple) this.byte(0x5d); // EMPTY_LIST
      if (v.length === 0) return this;
      this.byte(0x28); // MARK
      for (const x of v) this.value(x, depth + 1);
      return this.byte(tuple ? 0x74 : 0x65); // TUPLE / APPENDS
    }
    const entries = v instanceof Map
      ? [...v.entries()]
      : Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null
      ? Object.entries(v as Record<string, unknown>)
      : undefined;
    if (!entries) {
      const kind = typeof v === "object" ? (v as object).constructor?.name ?? "object" : typeof v;
      throw new TypeError(`Cannot pickle a value of type ${kind}: only plain data is supported`);
    }
    this.byte(0x7d); // EMPTY_DICT
    if (entries.length === 0) return this;
    this.byte(0x28); // MARK
    for (const [k, x] of entries) this.value(k, depth + 1).value(x, depth + 1);
    return this.byte(0x75); // SETITEMS
  }

  /** `STOP`. */
  stop(): this {
    return this.byte(0x2e);
  }

  /** The bytes written so far. */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Pickle one plain value (protocol 3 by default, as `np.save` uses; 2 when no bytes are involved). */
export function pickleValue(v: unknown, protocol = 3): Uint8Array {
  if (protocol < 2 || protocol > 5) throw new RangeError(`Cannot pickle with protocol ${protocol}: use 2..5`);
  return new Pickler().proto(protocol).value(v).stop().bytes();
}
