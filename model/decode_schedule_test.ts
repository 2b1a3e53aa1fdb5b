import assert from "node:assert/strict";
import { DecodeSchedule } from "./decode_schedule.ts";
import { decoderMask } from "./masks.ts";

const dims = { R: 2, F: 3, G: 1, maxPositions: 16 }; // A = 4
const B = 2, A = 4, L = 7;

function inputs(withMask: boolean) {
  const mask = new Uint8Array(B * L * L);
  for (let b = 0; b < B; b++) mask.set(decoderMask(L, dims.R), b * L * L);
  return {
    regionFeats: new Float32Array(B * dims.R * dims.F),
    visPe: new Float32Array(B * dims.R * dims.G),
    inputIds: [101, 100, 100, 102, 101, 100, 100, 102],
    segmentIds: Int32Array.from({ length: B * L }, (_, i) => 10 * Math.floor(i / L) + (i % L)),
    ...(withMask ? { attentionMask: mask } : {}),
    maskId: 9,
  };
}

Deno.test("DecodeSchedule builds each call's ids, segment ids and mask rows, with or without a given mask", () => {
  for (const withMask of [false, true]) {
    const s = new DecodeSchedule(dims, { maxImages: B, maxWidth: 3, maxLength: L });
    assert.equal(s.maxSteps, 3);
    const first = s.start(inputs(withMask));
    assert.deepEqual([first.start, first.Lq, first.Lk, first.N, first.W], [0, A + 1, A + 1, B, 1]);
    assert.deepEqual([...first.ids], [101, 100, 100, 102, 9, 101, 100, 100, 102, 9]);
    assert.deepEqual([...first.segmentIds], [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
    // the [MASK] row at A sees the prompt and itself
    assert.deepEqual([...first.mask.subarray(A * (A + 1), (A + 1) * (A + 1))], [1, 1, 1, 1, 1]);
    s.expand(3);
    const step = s.step([5, 6, 7, 8, 9, 10]);
    assert.deepEqual([step.start, step.Lq, step.Lk, step.N, step.W], [A, 2, A + 2, 6, 3]);
    assert.deepEqual([...step.ids.subarray(0, 4)], [5, 9, 6, 9]);
    // sequences 3..5 belong to image 1: its segment ids at positions 4, 5
    assert.deepEqual([...step.segmentIds.subarray(6, 8)], [14, 15]);
    // row A (the token) sees 0..A; row A + 1 (the new [MASK]) sees 0..A + 1
    assert.deepEqual([...step.mask.subarray(0, 2 * (A + 2))], [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
    assert.equal(s.position, A + 1);
  }
});

Deno.test("DecodeSchedule rejects misuse with the reason", () => {
  assert.throws(() => new DecodeSchedule(dims, { maxImages: 0 }), RangeError);
  assert.throws(() => new DecodeSchedule(dims, { maxImages: 1, maxLength: A }), RangeError);
  assert.throws(() => new DecodeSchedule(dims, { maxImages: 1, maxLength: 17 }), RangeError);
  const s = new DecodeSchedule(dims, { maxImages: B, maxWidth: 2, maxLength: L });
  assert.throws(() => s.step([1, 2]), /start\(\) was not called/);
  assert.throws(() => s.start({ ...inputs(false), visPe: [1] }), TypeError);
  assert.throws(() => s.start({ ...inputs(false), regionFeats: new Float32Array(3 * 6) }), RangeError);
  s.start(inputs(false));
  assert.throws(() => s.expand(3), RangeError);
  s.expand(2);
  assert.throws(() => s.expand(2), /already expanded/);
  assert.throws(() => s.step([1, 2, 3]), TypeError);
  assert.deepEqual([...s.reorder([1, 1, 3, 2])], [1, 1, 3, 2]);
  assert.throws(() => s.reorder([2, 1, 3, 2]), /image 0/);
  s.step([1, 2, 3, 4]);
  s.step([1, 2, 3, 4]);
  assert.throws(() => s.step([1, 2, 3, 4]), /beyond maxLength/);
});
