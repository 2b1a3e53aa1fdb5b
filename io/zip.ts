/**
 * Zip container plumbing for `.npz` files and PyTorch zip checkpoints: the central directory (with zip64),
 * local headers, CRC-32 checks and a streaming writer. Deflate itself is the platform's
 * `DecompressionStream("deflate-raw")` / `CompressionStream("deflate-raw")`.
 *
 * Defences: every offset and size is bounds-checked against the file, encrypted entries are refused, a
 * deflated entry whose declared size exceeds the deflate format's maximum ratio is refused before any
 * allocation, inflation stops as soon as the output exceeds the declared size (zip bombs), and every entry's
 * CRC-32 is verified.
 *
 * @module
 */
import { crc32 } from "./crc32.ts";
import { writeAll } from "./atomic.ts";

/** One file of a zip archive. */
export interface ZipEntry {
  /** Name inside the archive (forward slashes). */
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  /** Bytes of the (compressed) data. */
  compressedSize: number;
  /** Bytes after decompression. */
  size: number;
  /** CRC-32 of the uncompressed data. */
  crc32: number;
  /** Offset of the data (after the local header) in the archive. */
  dataOffset: number;
}

/** Deflate cannot expand data by more than about 1032:1; anything claiming more is corrupt or hostile. */
const MAX_DEFLATE_RATIO = 1032;

function fail(name: string, why: string): never {
  throw new SyntaxError(`Cannot read zip archive "${name}": ${why}`);
}

function u64(dv: DataView, off: number, name: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(name, `64-bit field ${v} at byte ${off} is too large`);
  return Number(v);
}

/** Parse the central directory of a zip archive held in memory. */
export function parseZip(bytes: Uint8Array, name = "<bytes>"): ZipEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  if (n < 22) fail(name, `${n} bytes is too short for a zip archive (truncated?)`);
  // End of central directory record: last 22 bytes plus up to 65535 bytes of comment.
  let eocd = -1;
  for (let i = n - 22; i >= Math.max(0, n - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail(name, "no end-of-central-directory record (not a zip file, or truncated)");
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // zip64: locator just before the EOCD points at the zip64 EOCD record.
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) fail(name, "zip64 locator missing");
    const rec = u64(dv, loc + 8, name);
    if (rec + 56 > n || dv.getUint32(rec, true) !== 0x06064b50) fail(name, "zip64 end record missing");
    count = u64(dv, rec + 32, name);
    cdSize = u64(dv, rec + 40, name);
    cdOffset = u64(dv, rec + 48, name);
  }
  if (cdOffset + cdSize > n) {
    fail(name, `central directory [${cdOffset}, +${cdSize}) is beyond the end (${n})`);
  }
  if (count * 46 > cdSize) fail(name, `central directory of ${cdSize} bytes cannot hold ${count} entries`);
  const dec = new TextDecoder("utf-8", { fatal: false });
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cdOffset + cdSize || dv.getUint32(p, true) !== 0x02014b50) {
      fail(name, `central directory entry ${k} is corrupt`);
    }
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cdOffset + cdSize) fail(name, `entry ${k} overruns`);
    const entryName = dec.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field: only the fields that are 0xffffffff in the fixed header are present, in order.
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = dv.getUint16(e, true), len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const take = () => {
          if (q + 8 > e + 4 + len) fail(name, `zip64 extra field of "${entryName}" is short`);
          const v = u64(dv, q, name);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    if (flags & 1) fail(name, `entry "${entryName}" is encrypted`);
    if (method !== 0 && method !== 8) fail(name, `entry "${entryName}" uses compression method ${method}`);
    if (localOffset + 30 > n || dv.getUint32(localOffset, true) !== 0x04034b50) {
      fail(name, `local header of "${entryName}" at byte ${localOffset} is missing`);
    }
    const dataOffset = localOffset + 30 + dv.getUint16(localOffset + 26, true) +
      dv.getUint16(localOffset + 28, true);
    if (dataOffset + compressedSize > n) {
      fail(
        name,
        `data of "${entryName}" [${dataOffset}, +${compressedSize}) is beyond the end (${n}); truncated?`,
      );
    }
    if (method === 0 && compressedSize !== size) fail(name, `stored entry "${entryName}" has two sizes`);
    if (method === 8 && size > compressedSize * MAX_DEFLATE_RATIO + 1024) {
      fail(name, `entry "${entryName}" claims ${size} bytes from ${compressedSize} compressed (zip bomb?)`);
    }
    entries.push({ name: entryName, method, compressedSize, size, crc32: crc, dataOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * The uncompressed bytes of an entry: a view into `bytes` for stored entries, a new buffer for deflated
 * ones. Inflation never produces more than the declared size; the CRC-32 is checked unless `verify` is false.
 */
export async function readZipEntry(
  bytes: Uint8Array,
  entry: ZipEntry,
  name = "<bytes>",
  verify = true,
): Promise<Uint8Array> {
  const raw = bytes.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  let out: Uint8Array;
  if (entry.method === 0) {
    out = raw;
  } else {
    out = new Uint8Array(entry.size);
    let filled = 0;
    const ds = new DecompressionStream("deflate-raw");
    const writer = ds.writable.getWriter();
    const reader = ds.readable.getReader();
    const feed = (async () => {
      // Feed in slices so that a bomb is caught after a bounded amount of output.
      for (let off = 0; off < raw.length; off += 1 << 16) {
        await writer.write(
          raw.subarray(off, Math.min(raw.length, off + (1 << 16))) as Uint8Array<ArrayBuffer>,
        );
      }
      await writer.close();
    })();
    feed.catch(() => {}); // errors surface through the reader
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (filled + value.length > entry.size) {
          await reader.cancel();
          fail(name, `entry "${entry.name}" inflates beyond its declared ${entry.size} bytes (zip bomb?)`);
        }
        out.set(value, filled);
        filled += value.length;
      }
      await feed;
    } catch (e) {
      if (e instanceof SyntaxError) throw e;
      fail(name, `entry "${entry.name}" has corrupt deflate data: ${(e as Error).message}`);
    }
    if (filled !== entry.size) {
      fail(name, `entry "${entry.name}" inflated to ${filled} bytes, expected ${entry.size}`);
    }
  }
  if (verify && crc32(out) !== entry.crc32) {
    fail(name, `entry "${entry.name}" fails its CRC-32 check (corrupt)`);
  }
  return out;
}

/** Options of one entry written by {@linkcode ZipWriter}. */
export interface ZipAddOptions {
  /** Deflate the data (default false: stored). */
  compress?: boolean;
  /** Pad the local header so the data starts at a multiple of this many bytes (stored entries only). */
  align?: number;
}

/** DOS date/time fields for a fixed timestamp (1980-01-01 00:00), so archives are reproducible. */
const DOS_TIME = 0, DOS_DATE = (0 << 9) | (1 << 5) | 1;

/**
 * Streaming zip writer onto an open file: entries are written as they are added, the central directory on
 * {@linkcode ZipWriter.finish}. Archives above 4 GiB (zip64) are not written.
 */
export class ZipWriter {
  #file: Deno.FsFile;
  #offset = 0;
  #central: Uint8Array[] = [];
  #count = 0;
  #enc = new TextEncoder();

  constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Add one file. */
  async add(name: string, data: Uint8Array, opts: ZipAddOptions = {}): Promise<void> {
    const nameBytes = this.#enc.encode(name);
    const crc = crc32(data);
    let body = data, method = 0;
    if (opts.compress) {
      body = await deflateRaw(data);
      method = 8;
    }
    let pad = 0;
    if (opts.align && method === 0) {
      const dataStart = this.#offset + 30 + nameBytes.length + 4;
      pad = (opts.align - (dataStart % opts.align)) % opts.align;
    }
    const extraLen = opts.align && method === 0 ? 4 + pad : 0;
    if (this.#offset + 30 + nameBytes.length + extraLen + body.length > 0xfffffffe) {
      throw new RangeError(`Cannot write zip entry "${name}": archives over 4 GiB (zip64) are not supported`);
    }
    const local = new Uint8Array(30 + nameBytes.length + extraLen);
    const dv = new DataView(local.buffer);
    dv.setUint32(0, 0x04034b50, true);
    dv.setUint16(4, 20, true);
    dv.setUint16(6, 0x0800, true); // UTF-8 names
    dv.setUint16(8, method, true);
    dv.setUint16(10, DOS_TIME, true);
    dv.setUint16(12, DOS_DATE, true);
    dv.setUint32(14, crc, true);
    dv.setUint32(18, body.length, true);
    dv.setUint32(22, data.length, true);
    dv.setUint16(26, nameBytes.length, true);
    dv.setUint16(28, extraLen, true);
    local.set(nameBytes, 30);
    if (extraLen) {
      dv.setUint16(30 + nameBytes.length, 0x4246, true); // private padding field
      dv.setUint16(32 + nameBytes.length, pad, true);
    }
    const cd = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x0800, true);
    cv.setUint16(10, method, true);
    cv.setUint16(12, DOS_TIME, true);
    cv.setUint16(14, DOS_DATE, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, this.#offset, true);
    cd.set(nameBytes, 46);
    this.#central.push(cd);
    this.#count++;
    await writeAll(this.#file, local);
    await writeAll(this.#file, body);
    this.#offset += local.length + body.length;
  }

  /** Write the central directory; the archive is complete afterwards. */
  async finish(): Promise<void> {
    const cdOffset = this.#offset;
    let cdSize = 0;
    for (const c of this.#central) {
      await writeAll(this.#file, c);
      cdSize += c.length;
    }
    if (this.#count > 0xfffe) throw new RangeError("Cannot write zip: more than 65534 entries");
    const end = new Uint8Array(22);
    const dv = new DataView(end.buffer);
    dv.setUint32(0, 0x06054b50, true);
    dv.setUint16(8, this.#count, true);
    dv.setUint16(10, this.#count, true);
    dv.setUint32(12, cdSize, true);
    dv.setUint32(16, cdOffset, true);
    await writeAll(this.#file, end);
    this.#offset += cdSize + 22;
  }
}

/** Raw deflate through the platform's CompressionStream. */
export async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("deflate-raw"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
