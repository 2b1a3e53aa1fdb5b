/**
 * The detector's weights: Detectron's `.pkl` (a pickle of `{"blobs": {name: array}}`, Python 2 `cPickle`
 * for the released model) read with the safe pickle reader of `@vlp/io`, and every blob the network needs
 * checked by name and shape ({@linkcode blobSpecs}). Blobs the network does not use (optimiser momenta,
 * a `cfg` entry) are ignored.
 *
 * Blob names are Detectron's (`modeling/ResNet.py`, `FPN.py`, `fast_rcnn_heads.py`): `conv1_w`,
 * `res_conv1_bn_{s,b}`, `res{2..5}_{i}_branch{1,2a,2b,2c}_w` with `_bn_{s,b}`, `fpn_inner_res5_{n}_sum_{w,b}`,
 * `fpn_inner_res{2..4}_{n}_sum_lateral_{w,b}`, `fpn_res{2..5}_{n}_sum_{w,b}`, `conv_rpn_fpn2_{w,b}`,
 * `rpn_cls_logits_fpn2_{w,b}`, `rpn_bbox_pred_fpn2_{w,b}`, `fc6_{w,b}`, `fc7_{w,b}`, `cls_score_{w,b}`,
 * `bbox_pred_{w,b}`.
 *
 * @module
 */
import { fmtShape, type NdArray, readNumpyPickle, toFloat32 } from "@vlp/io";
import type { DetectorConfig } from "./config.ts";

/** One blob the network reads: its name and shape. */
export interface BlobSpec {
  name: string;
  shape: number[];
}

/** The name of the last block's output of stage `s` (2..5), e.g. `res4_22_sum`. */
export function stageOutputName(cfg: DetectorConfig, s: number): string {
  return `res${s}_${cfg.RESNETS.BLOCK_COUNTS[s - 2]! - 1}_sum`;
}

/** Channel sizes of the body: per stage [dim_in of its first block, dim_inner, dim_out]. */
export function stageDims(cfg: DetectorConfig): { dimIn: number; inner: number; out: number }[] {
  const R = cfg.RESNETS;
  const dims = [];
  let dimIn = R.STEM_OUT_DIM, out = R.RES2_OUT_DIM, inner = R.NUM_GROUPS * R.WIDTH_PER_GROUP;
  for (let s = 0; s < 4; s++) {
    dims.push({ dimIn, inner, out });
    dimIn = out;
    out *= 2;
    inner *= 2;
  }
  return dims;
}

/** Every blob the network of `cfg` reads, with its shape. */
export function blobSpecs(cfg: DetectorConfig): BlobSpec[] {
  const R = cfg.RESNETS, D = cfg.FPN.DIM, A = cfg.FPN.RPN_ASPECT_RATIOS.length;
  const K = cfg.MODEL.NUM_CLASSES, res = cfg.FAST_RCNN.ROI_XFORM_RESOLUTION;
  const out: BlobSpec[] = [];
  const add = (name: string, ...shape: number[]) => out.push({ name, shape });
  const conv = (p: string, cout: number, cin: number, k: number) => add(`${p}_w`, cout, cin, k, k);
  const affine = (p: string, c: number) => {
    add(`${p}_s`, c);
    add(`${p}_b`, c);
  };
  conv("conv1", R.STEM_OUT_DIM, 3, 7);
  affine("res_conv1_bn", R.STEM_OUT_DIM);
  stageDims(cfg).forEach(({ dimIn, inner, out: dimOut }, si) => {
    for (let b = 0; b < R.BLOCK_COUNTS[si]!; b++) {
      const p = `res${si + 2}_${b}`, cin = b === 0 ? dimIn : dimOut;
      conv(`${p}_branch2a`, inner, cin, 1);
      affine(`${p}_branch2a_bn`, inner);
      conv(`${p}_branch2b`, inner, inner / R.NUM_GROUPS, 3);
      affine(`${p}_branch2b_bn`, inner);
      conv(`${p}_branch2c`, dimOut, inner, 1);
      affine(`${p}_branch2c_bn`, dimOut);
      if (cin !== dimOut) {
        conv(`${p}_branch1`, dimOut, cin, 1);
        affine(`${p}_branch1_bn`, dimOut);
      }
    }
  });
  const dims = stageDims(cfg);
  for (let s = 5; s >= 2; s--) {
    const name = stageOutputName(cfg, s), inner = s === 5 ? `fpn_inner_${name}` : `fpn_inner_${name}_lateral`;
    conv(inner, D, dims[s - 2]!.out, 1);
    add(`${inner}_b`, D);
  }
  for (let s = 5; s >= 2; s--) {
    conv(`fpn_${stageOutputName(cfg, s)}`, D, D, 3);
    add(`fpn_${stageOutputName(cfg, s)}_b`, D);
  }
  const k = `fpn${cfg.FPN.RPN_MIN_LEVEL}`;
  conv(`conv_rpn_${k}`, D, D, 3);
  add(`conv_rpn_${k}_b`, D);
  conv(`rpn_cls_logits_${k}`, A, D, 1);
  add(`rpn_cls_logits_${k}_b`, A);
  conv(`rpn_bbox_pred_${k}`, 4 * A, D, 1);
  add(`rpn_bbox_pred_${k}_b`, 4 * A);
  const HD = cfg.FAST_RCNN.MLP_HEAD_DIM, H7 = cfg.FAST_RCNN.FC7_DIM;
  add("fc6_w", HD, D * res * res);
  add("fc6_b", HD);
  add("fc7_w", H7, HD);
  add("fc7_b", H7);
  add("cls_score_w", K, H7);
  add("cls_score_b", K);
  add("bbox_pred_w", 4 * K, H7);
  add("bbox_pred_b", 4 * K);
  return out;
}

/** The network's blobs by name, float32. */
export type DetectorWeights = ReadonlyMap<string, Float32Array>;

const latin1 = new TextDecoder("latin1");

function keyText(k: unknown): string | undefined {
  if (typeof k === "string") return k;
  if (k instanceof Uint8Array) return latin1.decode(k);
  return undefined;
}

/** A pickled dict (string keys become an object, Python 2 byte-string keys stay a Map) as a Map. */
function asMap(v: unknown): Map<string, unknown> | undefined {
  if (v instanceof Map) {
    const m = new Map<string, unknown>();
    for (const [k, x] of v) {
      const t = keyText(k);
      if (t !== undefined) m.set(t, x);
    }
    return m;
  }
  if (typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && !("dtype" in v)) {
    return new Map(Object.entries(v));
  }
  return undefined;
}

function isNdArray(v: unknown): v is NdArray {
  return typeof v === "object" && v !== null && "dtype" in v && "shape" in v && "data" in v;
}

/**
 * The blobs of a Detectron weights file, checked against {@linkcode blobSpecs}. Errors name the file and
 * the blob: a missing blob, a wrong shape, a non-float array; a damaged file or a pickle that would run
 * code is refused by the pickle reader with the file's name.
 */
export function parseDetectorWeights(bytes: Uint8Array, cfg: DetectorConfig, name: string): DetectorWeights {
  const what = `Cannot load detector weights "${name}"`;
  let top: unknown;
  try {
    top = readNumpyPickle(bytes, { name, py2Str: "bytes" });
  } catch (e) {
    const msg = (e as Error).message;
    throw new SyntaxError(msg.includes(name) ? msg : `${what}: ${msg}`);
  }
  let blobs = asMap(top);
  if (!blobs) throw new TypeError(`${what}: expected a dict of blobs`);
  if (blobs.has("blobs")) blobs = asMap(blobs.get("blobs"));
  if (!blobs) throw new TypeError(`${what}: "blobs" is not a dict`);
  const out = new Map<string, Float32Array>();
  for (const spec of blobSpecs(cfg)) {
    const v = blobs.get(spec.name);
    if (v === undefined) {
      throw new TypeError(`${what}: blob "${spec.name}" is missing (expected shape ${fmtShape(spec.shape)})`);
    }
    if (!isNdArray(v)) throw new TypeError(`${what}: blob "${spec.name}" is not a numeric array`);
    if (v.shape.length !== spec.shape.length || v.shape.some((d, i) => d !== spec.shape[i])) {
      throw new TypeError(
        `${what}: blob "${spec.name}" has shape ${fmtShape(v.shape)}, expected ${fmtShape(spec.shape)}`,
      );
    }
    if (!/^float/.test(v.dtype)) throw new TypeError(`${what}: blob "${spec.name}" has dtype ${v.dtype}`);
    out.set(spec.name, toFloat32(v));
  }
  return out;
}

/** Read and check a Detectron weights file (see {@linkcode parseDetectorWeights}). */
export async function loadDetectorWeights(path: string, cfg: DetectorConfig): Promise<DetectorWeights> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`Cannot load detector weights "${path}": ${(e as Error).message}`);
  }
  return parseDetectorWeights(bytes, cfg, path);
}
