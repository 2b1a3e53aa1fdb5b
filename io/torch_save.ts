/**
 * Write a state_dict in PyTorch's zip checkpoint format (what `torch.save` writes since 1.6), so that
 * `torch.load` (including `weights_only=True`) reads it: `archive/data.pkl` (protocol 2, only
 * `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and `torch.*Storage` globals),
 * `archive/byteorder`, one 64-byte-aligned stored record per storage, `archive/version`.
 *
 * @module
 */
import { writeFileAtomic } from "./atomic.ts";
import { bytesOf, type DType, fmtShape, ITEMSIZE, type NdArray, numel } from "./ndarray.ts";
import { Pickler } from "./pickle_writer.ts";
import { STORAGE_DTYPES } from "./torch_load.ts";
import { ZipWriter } from "./zip.ts";

const STORAGE_OF: Readonly<Record<DType, string>> = Object.fromEntries(
  Object.entries(STORAGE_DTYPES).map(([cls, dt]) => [dt, cls]),
) as Record<DType, string>;

/**
 * Save a state_dict as a PyTorch zip checkpoint (atomically: temporary file + rename). Arrays whose `data`
 * is the same typed array (or the same bytes of one buffer), such as tied embeddings, are stored once and
 * come back tied in PyTorch.
 */
export async function saveTorchStateDict(path: string, sd: Map<string, NdArray>): Promise<void> {
  const what = `Cannot save checkpoint "${path}"`;
  // Storages, deduplicated by identical memory.
  const storages: { key: string; arr: NdArray }[] = [];
  const keyOf = new Map<NdArray, string>();
  for (const [name, arr] of sd) {
    const n = numel(arr.shape, `${what}: "${name}"`);
    if (arr.data.length !== n) {
      throw new TypeError(`${what}: "${name}" has ${arr.data.length} elements, shape ${fmtShape(arr.shape)}`);
    }
    if (!STORAGE_OF[arr.dtype]) throw new TypeError(`${what}: "${name}" has unsupported dtype ${arr.dtype}`);
    const same = storages.find((s) =>
      s.arr.dtype === arr.dtype && s.arr.data.buffer === arr.data.buffer &&
      s.arr.data.byteOffset === arr.data.byteOffset && s.arr.data.length === arr.data.length
    );
    if (same) keyOf.set(arr, same.key);
    else {
      const key = String(storages.length);
      storages.push({ key, arr });
      keyOf.set(arr, key);
    }
  }
  // data.pkl: OrderedDict of _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
  const pk = new Pickler().byte(0x80, 2).global("collections", "OrderedDict").byte(0x29, 0x52); // EMPTY_TUPLE REDUCE
  pk.byte(0x28); // MARK
  for (const [name, arr] of sd) {
    const strides = new Array<number>(arr.shape.length);
    for (let d = arr.shape.length - 1, s = 1; d >= 0; d--) {
      strides[d] = s;
      s *= arr.shape[d]!;
    }
    pk.str(name).global("torch._utils", "_rebuild_tensor_v2").byte(0x28); // MARK (args)
    pk.byte(0x28).str("storage").global("torch", STORAGE_OF[arr.dtype]).str(keyOf.get(arr)!).str("cpu")
      .int(arr.data.length).byte(0x74, 0x51); // TUPLE BINPERSID
    pk.int(0).intTuple(arr.shape).intTuple(strides).byte(0x89); // NEWFALSE
    pk.global("collections", "OrderedDict").byte(0x29, 0x52); // OrderedDict()
    pk.byte(0x74, 0x52); // TUPLE REDUCE
  }
  pk.byte(0x75, 0x2e); // SETITEMS STOP
  const enc = new TextEncoder();
  await writeFileAtomic(path, async (file) => {
    const zip = new ZipWriter(file);
    await zip.add("archive/data.pkl", pk.bytes());
    await zip.add("archive/byteorder", enc.encode("little"));
    for (const { key, arr } of storages) {
      const b = bytesOf(arr.data);
      if (b.length !== arr.data.length * ITEMSIZE[arr.dtype]) {
        throw new TypeError(`${what}: storage ${key} size`);
      }
      await zip.add(`archive/data/${key}`, b, { align: 64 });
    }
    await zip.add("archive/version", enc.encode("3\n"));
    await zip.finish();
  });
}
