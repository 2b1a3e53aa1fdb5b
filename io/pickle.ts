/**
 * A safe pickle reader (protocols 2-5, plus the few text opcodes old pickles mix in). It never executes
 * code: a global (`module.name`) can only be used when the caller's allowlist maps it to a TypeScript
 * handler; any other global is an error naming it, like `torch.load(weights_only=True)`.
 *
 * Python values map to: None → `null`, bool → `boolean`, int → `number` (or `bigint` beyond 2^53),
 * float → `number`, str → `string`, bytes → `Uint8Array`, list → `Array`, tuple → frozen `Array`,
 * dict → `Map`, set/frozenset → `Set`. Handlers of allowed globals return whatever they model.
 *
 * Memory stays proportional to the input: every length is checked against the bytes that remain, the
 * memo and stack only hold values the input describes, and big integers are capped at 256 bytes.
 *
 * @module
 */

/** A callable (class or function) reachable through the allowlist. */
export interface PyGlobal {
  /** `module.name`, for messages. */
  readonly qualname: string;
  /** `REDUCE` / `NEWOBJ` on this global with the argument tuple. */
  call(args: readonly unknown[]): unknown;
}

/** An object that accepts pickle's `BUILD` (its `__setstate__`). */
export interface PyBuildable {
  setState(state: unknown): void;
}

/** Allowlist: `"module.name"` → handler. Anything absent is refused. */
export type PickleGlobals = ReadonlyMap<string, PyGlobal>;

/** Options of {@linkcode unpickle}. */
export interface UnpickleOptions {
  /** File name (and what is being read) for messages. */
  name?: string;
  /** Allowed globals. */
  globals?: PickleGlobals;
  /** Resolves persistent ids (`PERSID` / `BINPERSID`), as PyTorch's storages use. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Byte offset to start at (several pickles can follow each other in one file). */
  start?: number;
  /**
   * What a Python 2 `str` becomes: `"text"` (default; UTF-8 when valid, else Latin-1) or `"bytes"` (a
   * `Uint8Array`, as Python 3's `pickle.load(f, encoding="bytes")`), for Python 2 pickles whose `str` values
   * are binary data (numpy arrays saved by Python 2, as Detectron's weight files).
   */
  py2Str?: "text" | "bytes";
}

/** Result of {@linkcode unpickle}: the value and the offset just after the `STOP` opcode. */
export interface UnpickleResult {
  value: unknown;
  end: number;
}

const MAX_LONG_BYTES = 256;

/** A tuple is a frozen array. */
export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/** Helper for handlers: a global whose call is a plain function. */
export function pyFunction(qualname: string, call: (args: readonly unknown[]) => unknown): PyGlobal {
  return { qualname, call };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

/** Python 2 `str` bytes: UTF-8 when valid, else Latin-1. */
function py2str(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return latin1.decode(b);
  }
}

/** Decode a little-endian two's complement integer of any length (LONG1 / LONG4). */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return normInt(v);
}

function normInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Read one pickle from `bytes` (starting at `opts.start`). Throws `SyntaxError` on malformed input and
 * `TypeError` for a global outside the allowlist or an operation the allowlist does not support.
 */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions = {}): UnpickleResult {
  const name = opts.name ?? "<bytes>";
  const globals = opts.globals ?? new Map();
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let p = opts.start ?? 0;
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  const str2 = opts.py2Str === "bytes" ? (b: Uint8Array) => b.slice() : py2str;

  const fail = (why: string): never => {
    throw new SyntaxError(`Cannot unpickle "${name}": ${why} (at byte ${p})`);
  };
  const need = (k: number) => {
    if (k < 0 || p + k > n) fail(`needs ${k} more bytes but only ${n - p} remain (truncated?)`);
  };
  const take = (k: number): Uint8Array => {
    need(k);
    const b = bytes.subarray(p, p + k);
    p += k;
    return b;
  };
  const u8 = () => (need(1), bytes[p++]!);
  const u16 = () => (need(2), p += 2, dv.getUint16(p - 2, true));
  const i32 = () => (need(4), p += 4, dv.getInt32(p - 4, true));
  const u32 = () => (need(4), p += 4, dv.getUint32(p - 4, true));
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(n)) fail(`length ${v} exceeds the input size`);
    return Number(v);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) fail("unterminated text line");
    const s = latin1.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length && stack.length <= marks[marks.length - 1]!)) {
      fail("stack underflow");
    }
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail("MARK expected");
    return stack.splice(m!);
  };
  const findGlobal = (module: string, qual: string): PyGlobal => {
    const key = `${module}.${qual}`;
    const g = globals.get(key);
    if (!g) {
      throw new TypeError(
        `Cannot unpickle "${name}": global "${key}" is not allowed (only data types are loaded, never code)`,
      );
    }
    return g;
  };
  const callGlobal = (callable: unknown, args: unknown, op: string): unknown => {
    if (!isPyGlobal(callable)) fail(`${op} on a non-callable ${describe(callable)}`);
    if (!Array.isArray(args)) fail(`${op} arguments must be a tuple, got ${describe(args)}`);
    return (callable as PyGlobal).call(args as unknown[]);
  };
  const setItems = (d: unknown, kv: unknown[]) => {
    if (!(d instanceof Map)) fail(`SETITEM(S) on ${describe(d)}`);
    for (let i = 0; i + 1 < kv.length; i += 2) (d as Map<unknown, unknown>).set(kv[i], kv[i + 1]);
  };
  const appendItems = (l: unknown, items: unknown[]) => {
    if (!Array.isArray(l) || Object.isFrozen(l)) fail(`APPEND(S) on ${describe(l)}`);
    for (const x of items) (l as unknown[]).push(x);
  };
  const persistent = (pid: unknown): unknown => {
    if (!opts.persistentLoad) fail("persistent id found but no persistent loader is configured");
    return opts.persistentLoad!(pid);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: p };
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        if (marks.length && marks[marks.length - 1] === stack.length) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      // ---- constants
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: { // LONG1
        const k = u8();
        stack.push(decodeLong(take(k)));
        break;
      }
      case 0x8b: { // LONG4
        const k = i32();
        if (k < 0 || k > MAX_LONG_BYTES) fail(`LONG4 of ${k} bytes (limit ${MAX_LONG_BYTES})`);
        stack.push(decodeLong(take(k)));
        break;
      }
      case 0x49: { // INT (text): also encodes True/False as 01/00
        const s = line().trim();
        if (s === "01") stack.push(true);
        else if (s === "00") stack.push(false);
        else stack.push(parseTextInt(s, fail));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(parseTextInt(line().trim().replace(/L$/, ""), fail));
        break;
      case 0x46: { // FLOAT (text)
        const v = Number(line().trim());
        if (Number.isNaN(v)) fail("bad FLOAT");
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(dv.getFloat64(p, false));
        p += 8;
        break;
      // ---- strings and bytes
      case 0x58: // BINUNICODE
        stack.push(decodeUtf8(take(u32()), fail));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(decodeUtf8(take(u8()), fail));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(decodeUtf8(take(u64()), fail));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text line)
        stack.push(rawUnicodeEscape(line()));
        break;
      case 0x55: // SHORT_BINSTRING (Python 2 str)
        stack.push(str2(take(u8())));
        break;
      case 0x54: { // BINSTRING
        const k = i32();
        stack.push(str2(take(k)));
        break;
      }
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      // ---- containers
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop(), a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop(), b = pop(), a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x74: // TUPLE
        stack.push(tuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x61: { // APPEND
        const x = pop();
        appendItems(top(), [x]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const kv = popMark();
        const d = new Map();
        setItems(d, kv);
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop(), k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`ADDITEMS on ${describe(s)}`);
        for (const x of items) (s as Set<unknown>).add(x);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      // ---- memo
      case 0x70: // PUT (text)
        memo.set(parseTextInt(line(), fail) as number, top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET (text)
      case 0x68: // BINGET
      case 0x6a: { // LONG_BINGET
        const k = op === 0x67 ? parseTextInt(line(), fail) as number : op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo key ${k} is not defined`);
        stack.push(memo.get(k));
        break;
      }
      // ---- objects: only through the allowlist
      case 0x63: { // GLOBAL
        const module = line(), qual = line();
        stack.push(findGlobal(module, qual));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const qual = pop(), module = pop();
        if (typeof module !== "string" || typeof qual !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(findGlobal(module as string, qual as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop(), callable = pop();
        stack.push(callGlobal(callable, args, "REDUCE"));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop(), cls = pop();
        stack.push(callGlobal(cls, args, "NEWOBJ"));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop(), args = pop(), cls = pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) fail("NEWOBJ_EX with keyword arguments");
        stack.push(callGlobal(cls, args, "NEWOBJ_EX"));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof Map) {
          // OrderedDict attributes such as `_metadata` of a PyTorch state_dict: dropped.
          break;
        }
        if (!isBuildable(obj)) fail(`BUILD on ${describe(obj)}, which takes no state`);
        (obj as PyBuildable).setState(state);
        break;
      }
      case 0x50: // PERSID (text)
        stack.push(persistent(line()));
        break;
      case 0x51: // BINPERSID
        stack.push(persistent(pop()));
        break;
      case 0x98: // READONLY_BUFFER
        top();
        break;
      case 0x69: // INST
      case 0x6f: // OBJ
        throw new TypeError(
          `Cannot unpickle "${name}": old-style class instances (INST/OBJ) are not allowed`,
        );
      case 0x82:
      case 0x83:
      case 0x84: // EXT1/2/4
        throw new TypeError(`Cannot unpickle "${name}": extension registry codes (EXT) are not allowed`);
      case 0x97: // NEXT_BUFFER
        fail("out-of-band buffers (NEXT_BUFFER) are not supported");
        break;
      case 0x53: // STRING (protocol 0)
        fail("protocol-0 STRING opcode is not supported");
        break;
      default:
        fail(`unknown opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

function isPyGlobal(v: unknown): v is PyGlobal {
  return typeof v === "object" && v !== null && typeof (v as PyGlobal).call === "function" &&
    typeof (v as PyGlobal).qualname === "string";
}

function isBuildable(v: unknown): v is PyBuildable {
  return typeof v === "object" && v !== null && typeof (v as PyBuildable).setState === "function";
}

/** Short description of a value's type for messages. */
export function describe(v: unknown): string {
  if (v === null) return "None";
  if (Array.isArray(v)) return Object.isFrozen(v) ? `tuple of ${v.length}` : `list of ${v.length}`;
  if (v instanceof Map) return "dict";
  if (v instanceof Set) return "set";
  if (v instanceof Uint8Array) return "bytes";
  if (isPyGlobal(v)) return `global ${v.qualname}`;
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

function decodeUtf8(b: Uint8Array, fail: (why: string) => never): string {
  try {
    return utf8.decode(b);
  } catch {
    return fail("invalid UTF-8 in a string");
  }
}

function parseTextInt(s: string, fail: (why: string) => never): number | bigint {
  const t = s.trim();
  if (!/^[+-]?\d{1,600}$/.test(t)) fail(`bad integer literal ${JSON.stringify(t.slice(0, 40))}`);
  return normInt(BigInt(t));
}

function rawUnicodeEscape(s: string): string {
  return s.replace(
    /\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g,
    (_m, a: string, b: string) => String.fromCodePoint(parseInt(a ?? b, 16)),
  );
}
