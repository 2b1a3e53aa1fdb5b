/**
 * Box arithmetic with Detectron's `+1` pixel convention (`utils/boxes.py`): a box [x1, y1, x2, y2] covers
 * x2 − x1 + 1 pixels; the delta transform with its weights and the clip of dw, dh at `BBOX_XFORM_CLIP`;
 * clipping to [0, W − 1] × [0, H − 1]; greedy NMS (`utils/cython_nms.pyx`: suppress when IoU ≥ thresh).
 * Boxes are `Float64Array`s of `[n, 4]` (or `[n, 4K]` for class-specific boxes).
 *
 * @module
 */

/** Areas with the +1 convention of boxes `[n, 4]`. */
export function boxAreas(boxes: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (boxes[4 * i + 2]! - boxes[4 * i]! + 1) * (boxes[4 * i + 3]! - boxes[4 * i + 1]! + 1);
  }
  return out;
}

/**
 * `bbox_transform`: boxes `[n, 4]` and deltas `[n, 4J]` (row stride `4J`) → predicted boxes `[n, 4J]`;
 * (dx, dy, dw, dh) divided by `weights`, dw and dh clipped at `clip`.
 */
export function bboxTransform(
  boxes: ArrayLike<number>,
  deltas: ArrayLike<number>,
  n: number,
  J: number,
  weights: readonly [number, number, number, number],
  clip: number,
): Float64Array {
  const [wx, wy, ww, wh] = weights, out = new Float64Array(n * 4 * J);
  for (let i = 0; i < n; i++) {
    const w = boxes[4 * i + 2]! - boxes[4 * i]! + 1, h = boxes[4 * i + 3]! - boxes[4 * i + 1]! + 1;
    const cx = boxes[4 * i]! + 0.5 * w, cy = boxes[4 * i + 1]! + 0.5 * h;
    for (let j = 0; j < J; j++) {
      const o = (i * J + j) * 4;
      const dx = deltas[o]! / wx, dy = deltas[o + 1]! / wy;
      const dw = Math.min(deltas[o + 2]! / ww, clip), dh = Math.min(deltas[o + 3]! / wh, clip);
      const pcx = dx * w + cx, pcy = dy * h + cy, pw = Math.exp(dw) * w, ph = Math.exp(dh) * h;
      out[o] = pcx - 0.5 * pw;
      out[o + 1] = pcy - 0.5 * ph;
      out[o + 2] = pcx + 0.5 * pw - 1;
      out[o + 3] = pcy + 0.5 * ph - 1;
    }
  }
  return out;
}

/** `clip_tiled_boxes` in place: x into [0, width − 1], y into [0, height − 1]. */
export function clipBoxes(boxes: Float64Array, height: number, width: number): Float64Array {
  for (let i = 0; i < boxes.length; i++) {
    boxes[i] = Math.max(0, Math.min(boxes[i]!, (i & 1) === 0 ? width - 1 : height - 1));
  }
  return boxes;
}

/** Float32 bit pattern of a non-negative float32 value (monotonic in the value). */
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);

/**
 * Indices 0..n−1 ordered by descending `score(i)`; equal scores keep ascending index (a stable sort). When
 * every score is a non-negative float32 value (probabilities), one native sort of exact keys
 * (bits · 2^k + (2^k − 1 − i), below 2^53) replaces the comparator sort.
 */
export function descendingOrder(n: number, score: (i: number) => number): Int32Array {
  const s = new Float64Array(n);
  let packable = n < 1 << 22;
  for (let i = 0; i < n; i++) {
    const v = (s[i] = score(i));
    if (!(v >= 0) || Math.fround(v) !== v) packable = false;
  }
  if (packable) {
    const m = 2 ** Math.max(1, Math.ceil(Math.log2(n + 1))), keys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      f32[0] = s[i]!;
      keys[i] = u32[0]! * m + (m - 1 - i);
    }
    keys.sort();
    const out = new Int32Array(n);
    for (let a = 0; a < n; a++) out[a] = m - 1 - (keys[n - 1 - a]! % m);
    return out;
  }
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => s[b]! - s[a]! || a - b);
  return Int32Array.from(idx);
}

/**
 * Greedy NMS over the boxes `idx` (each box i at `boxes[off + i·stride .. +4]`) visited in descending score:
 * a box is kept unless a kept box overlaps it with IoU ≥ `thresh`. Returns kept indices, best first.
 */
export function nms(
  boxes: ArrayLike<number>,
  scores: (i: number) => number,
  n: number,
  thresh: number,
  stride = 4,
  off = 0,
): number[] {
  return nmsOrdered(boxes, descendingOrder(n, scores), n, thresh, stride, off);
}

/**
 * The decisions of greedy NMS for the first `m` boxes of the visiting `order` (those do not depend on the boxes
 * after them): the kept ones among them, in order.
 */
export function nmsOrdered(
  boxes: ArrayLike<number>,
  order: Int32Array,
  m: number,
  thresh: number,
  stride = 4,
  off = 0,
): number[] {
  // the boxes in visiting order, so that the inner loop reads memory in sequence
  const x1 = new Float64Array(m),
    y1 = new Float64Array(m),
    x2 = new Float64Array(m),
    y2 = new Float64Array(m);
  const area = new Float64Array(m);
  for (let a = 0; a < m; a++) {
    const o = off + order[a]! * stride;
    x1[a] = boxes[o]!;
    y1[a] = boxes[o + 1]!;
    x2[a] = boxes[o + 2]!;
    y2[a] = boxes[o + 3]!;
    area[a] = (x2[a]! - x1[a]! + 1) * (y2[a]! - y1[a]! + 1);
  }
  const suppressed = new Uint8Array(m), keep: number[] = [];
  for (let a = 0; a < m; a++) {
    if (suppressed[a]) continue;
    keep.push(order[a]!);
    const ax1 = x1[a]!, ay1 = y1[a]!, ax2 = x2[a]!, ay2 = y2[a]!, aa = area[a]!;
    for (let b = a + 1; b < m; b++) {
      if (suppressed[b]) continue;
      const w = Math.min(ax2, x2[b]!) - Math.max(ax1, x1[b]!) + 1;
      if (w <= 0) continue;
      const h = Math.min(ay2, y2[b]!) - Math.max(ay1, y1[b]!) + 1;
      if (h <= 0) continue;
      const inter = w * h;
      if (inter / (aa + area[b]! - inter) >= thresh) suppressed[b] = 1;
    }
  }
  return keep;
}
