/**
 * A small HDF5 writer for VLP's region files: one root group holding N contiguous datasets (float16,
 * float32, float64 or integers), which is exactly the layout of the `*_feat{XYZ}.h5`, `*_cls{XYZ}.h5` and
 * bbox files. h5wasm cannot create float16 datasets, so the files are written here, following the HDF5
 * file format specification (version 0 superblock, version 1 object headers, the root group as a symbol
 * table: a version 1 B-tree over symbol-table nodes plus a local heap of names), the same structures h5py
 * writes by default. The HDF5 library (h5py, h5wasm) reads the result.
 *
 * Streaming: dataset bytes go to disk as they are added; the metadata (kept in memory, ~200 bytes per
 * dataset) is written after the data on {@linkcode H5Writer.close}, and the superblock is patched last.
 * The file appears under its name only when complete (temporary file + rename).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { writeAll } from "./atomic.ts";
import { bytesOf, type DType, fmtShape, ITEMSIZE, type NdArray, numel } from "./ndarray.ts";

const UNDEF = 0xffffffffffffffffn;
const SUPERBLOCK_SIZE = 96;
/** Group internal-node K: one B-tree node holds up to 2K symbol-table nodes. */
const INTERNAL_K = 16;

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  dataAddress: number;
  dataSize: number;
}

/** Little-endian byte buffer builder. */
class Buf {
  bytes: Uint8Array;
  dv: DataView;
  p = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  u8(v: number): this {
    this.dv.setUint8(this.p++, v);
    return this;
  }
  u16(v: number): this {
    this.dv.setUint16(this.p, v, true);
    this.p += 2;
    return this;
  }
  u32(v: number): this {
    this.dv.setUint32(this.p, v, true);
    this.p += 4;
    return this;
  }
  u64(v: number | bigint): this {
    this.dv.setBigUint64(this.p, BigInt(v), true);
    this.p += 8;
    return this;
  }
  str(s: string): this {
    this.p += new TextEncoder().encodeInto(s, this.bytes.subarray(this.p)).written;
    return this;
  }
  at(p: number): this {
    this.p = p;
    return this;
  }
}

const pad8 = (n: number) => Math.ceil(n / 8) * 8;

/** Datatype message body (without the 8-byte message header), padded to 8 bytes. */
function datatypeMessage(dtype: DType): Uint8Array {
  const size = ITEMSIZE[dtype];
  if (dtype === "float16" || dtype === "float32" || dtype === "float64") {
    // class 1 (floating point), version 1; little-endian, implied msb mantissa normalisation
    const [expLoc, expSize, mantSize, bias] = dtype === "float16"
      ? [10, 5, 10, 15]
      : dtype === "float32"
      ? [23, 8, 23, 127]
      : [52, 11, 52, 1023];
    const b = new Buf(24).u8(0x11).u8(0x20).u8(size * 8 - 1).u8(0).u32(size);
    b.u16(0).u16(size * 8).u8(expLoc).u8(expSize).u8(0).u8(mantSize).u32(bias);
    return b.bytes;
  }
  if (dtype === "bfloat16" || dtype === "bool") {
    throw new TypeError(
      `HDF5 writer: dtype ${dtype} is not supported (use float16/32/64 or an integer type)`,
    );
  }
  // class 0 (fixed point), version 1; little-endian, signed unless uint8
  const signed = dtype !== "uint8";
  return new Buf(16).u8(0x10).u8(signed ? 0x08 : 0).u8(0).u8(0).u32(size).u16(0).u16(size * 8).bytes;
}

/** Object header (version 1) of a contiguous dataset. */
function datasetHeader(e: Entry): Uint8Array {
  const rank = e.shape.length;
  const dataspace = 8 + 16 * rank; // version 1, with max dims (= dims)
  const dt = datatypeMessage(e.dtype);
  const messages = (8 + dataspace) + (8 + dt.length) + (8 + 8) + (8 + 24);
  const b = new Buf(16 + messages);
  b.u8(1).u8(0).u16(4).u32(1).u32(messages).u32(0); // version, reserved, #messages, refcount, size, pad
  // Dataspace (0x0001)
  b.u16(0x0001).u16(dataspace).u8(0).u8(0).u8(0).u8(0);
  b.u8(1).u8(rank).u8(1).u8(0).u32(0);
  for (const d of e.shape) b.u64(d);
  for (const d of e.shape) b.u64(d);
  // Datatype (0x0003), constant
  b.u16(0x0003).u16(dt.length).u8(1).u8(0).u8(0).u8(0);
  b.bytes.set(dt, b.p);
  b.p += dt.length;
  // Fill value (0x0005) version 2: allocation late, write if set, defined with default (size 0)
  b.u16(0x0005).u16(8).u8(1).u8(0).u8(0).u8(0);
  b.u8(2).u8(2).u8(2).u8(1).u32(0);
  // Data layout (0x0008) version 3, contiguous: address and size
  b.u16(0x0008).u16(24).u8(0).u8(0).u8(0).u8(0);
  b.u8(3).u8(1).u64(e.dataSize === 0 ? UNDEF : e.dataAddress).u64(e.dataSize); // empty: no storage
  return b.bytes;
}

/** Byte-wise comparison, as HDF5 orders symbol names (strcmp). */
function compareNames(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Streaming writer of a flat HDF5 file (datasets in the root group). Use {@linkcode H5Writer.create},
 * {@linkcode H5Writer.add} for each dataset, then {@linkcode H5Writer.close} (or `abort`).
 */
export class H5Writer {
  #file: Deno.FsFile;
  #tmp: string;
  #path: string;
  #offset = SUPERBLOCK_SIZE;
  #entries: Entry[] = [];
  #names = new Set<string>();
  #done = false;

  private constructor(path: string, tmp: string, file: Deno.FsFile) {
    this.#path = path;
    this.#tmp = tmp;
    this.#file = file;
  }

  /** Start writing `path` (written to a temporary file in the same folder until `close`). */
  static async create(path: string): Promise<H5Writer> {
    const tmp = join(dirname(path), `.${basename(path)}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
    const file = await Deno.open(tmp, { write: true, createNew: true });
    await writeAll(file, new Uint8Array(SUPERBLOCK_SIZE)); // patched on close
    return new H5Writer(path, tmp, file);
  }

  /** Append one dataset (its bytes are written now). Names must be unique and contain no "/". */
  async add(name: string, arr: NdArray): Promise<void> {
    const what = `Cannot write HDF5 "${this.#path}": dataset "${name}"`;
    if (this.#done) throw new TypeError(`${what}: the writer is closed`);
    if (!name || name.includes("/") || name === "." || name.includes("\0")) {
      throw new TypeError(`${what}: invalid dataset name`);
    }
    if (this.#names.has(name)) throw new TypeError(`${what}: written twice`);
    const n = numel(arr.shape, what);
    if (arr.data.length !== n) {
      throw new TypeError(`${what}: ${arr.data.length} elements for ${fmtShape(arr.shape)}`);
    }
    datatypeMessage(arr.dtype); // validates the dtype
    const align = pad8(this.#offset) - this.#offset;
    if (align) await writeAll(this.#file, new Uint8Array(align));
    this.#offset += align;
    const bytes = bytesOf(arr.data);
    await writeAll(this.#file, bytes);
    this.#entries.push({
      name,
      dtype: arr.dtype,
      shape: [...arr.shape],
      dataAddress: this.#offset,
      dataSize: bytes.length,
    });
    this.#names.add(name);
    this.#offset += bytes.length;
  }

  /** Write the metadata, patch the superblock and move the file into place. */
  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    try {
      await this.#finish();
      this.#file.close();
      await Deno.rename(this.#tmp, this.#path);
    } catch (e) {
      try {
        this.#file.close();
      } catch { /* already closed */ }
      await Deno.remove(this.#tmp).catch(() => {});
      throw e;
    }
  }

  /** Discard the partial file. */
  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#file.close();
    await Deno.remove(this.#tmp).catch(() => {});
  }

  async #finish(): Promise<void> {
    const enc = new TextEncoder();
    const entries = this.#entries.map((e) => ({ e, key: enc.encode(e.name) }))
      .sort((a, b) => compareNames(a.key, b.key));
    const N = entries.length;
    // Symbol-table nodes: at most 2*INTERNAL_K of them, each holding up to 2*leafK entries.
    const leafK = Math.max(4, Math.ceil(N / (4 * INTERNAL_K)));
    const nodes = Math.ceil(N / (2 * leafK));
    /** Entries [first(k), first(k + 1)) go to node k: an even split, each at most 2*leafK. */
    const first = (k: number) => Math.floor((k * N) / nodes);

    // Local heap data: "" at offset 0, then each name NUL-terminated and padded to 8 bytes.
    const nameOffset: number[] = [];
    let heapSize = 8;
    for (const { key } of entries) {
      nameOffset.push(heapSize);
      heapSize += pad8(key.length + 1);
    }

    // Addresses of the metadata blocks, after the data.
    let p = pad8(this.#offset);
    const rootHeader = p;
    p += 16 + 24;
    const btree = p;
    p += 24 + 2 * INTERNAL_K * 8 + (2 * INTERNAL_K + 1) * 8;
    const heap = p;
    p += 32;
    const heapData = p;
    p += heapSize;
    const headers = entries.map(({ e }) => {
      const h = datasetHeader(e);
      const at = p;
      p += h.length;
      return { at, h };
    });
    const snodSize = 8 + 2 * leafK * 40;
    const snods: number[] = [];
    for (let i = 0; i < nodes; i++) {
      snods.push(p);
      p += snodSize;
    }
    const eof = p;
    const meta = new Buf(eof - this.#offset);
    const base = this.#offset;
    const at = (addr: number) => meta.at(addr - base);

    // Root group object header: one Symbol Table message (B-tree and heap addresses).
    at(rootHeader).u8(1).u8(0).u16(1).u32(1).u32(24).u32(0);
    meta.u16(0x0011).u16(16).u8(0).u8(0).u8(0).u8(0).u64(btree).u64(heap);

    // B-tree (group node, leaf level): key0 = "" (offset 0), child i, key i+1 = last name of child i.
    at(btree).str("TREE").u8(0).u8(0).u16(nodes).u64(UNDEF).u64(UNDEF);
    meta.u64(0);
    for (let i = 0; i < nodes; i++) {
      const last = first(i + 1) - 1;
      meta.u64(snods[i]!).u64(nameOffset[last]!);
    }

    // Local heap (version 0): data segment size, free list head (1 = none), data address.
    at(heap).str("HEAP").u8(0).u8(0).u8(0).u8(0).u64(heapSize).u64(1).u64(heapData);
    for (let i = 0; i < N; i++) meta.bytes.set(entries[i]!.key, heapData - base + nameOffset[i]!);

    for (const { at: addr, h } of headers) meta.bytes.set(h, addr - base);

    // Symbol-table nodes, entries in name order.
    for (let k = 0; k < nodes; k++) {
      const lo = first(k), hi = first(k + 1);
      at(snods[k]!).str("SNOD").u8(1).u8(0).u16(hi - lo);
      for (let i = lo; i < hi; i++) {
        meta.u64(nameOffset[i]!).u64(headers[i]!.at).u32(0).u32(0).u64(0).u64(0);
      }
    }
    await writeAll(this.#file, meta.bytes);

    // Superblock version 0 with the root group's symbol-table entry (cache type 1: B-tree + heap).
    const sb = new Buf(SUPERBLOCK_SIZE).u8(0x89).str("HDF\r\n\x1a\n");
    sb.u8(0).u8(0).u8(0).u8(0).u8(0).u8(8).u8(8).u8(0);
    sb.u16(leafK).u16(INTERNAL_K).u32(0);
    sb.u64(0).u64(UNDEF).u64(eof).u64(UNDEF);
    sb.u64(0).u64(rootHeader).u32(1).u32(0).u64(btree).u64(heap);
    await this.#file.seek(0, Deno.SeekMode.Start);
    await writeAll(this.#file, sb.bytes);
    await this.#file.sync();
  }
}

/** Write datasets into a new HDF5 file (atomically), e.g. one region shard. */
export async function writeH5(path: string, datasets: Iterable<[string, NdArray]>): Promise<void> {
  const w = await H5Writer.create(path);
  try {
    for (const [name, arr] of datasets) await w.add(name, arr);
  } catch (e) {
    await w.abort();
    throw e;
  }
  await w.close();
}
