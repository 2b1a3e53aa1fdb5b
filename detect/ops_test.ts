import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { createBackend } from "@vlp/model";
import { BufferPool } from "./buffer_pool.ts";
import { CpuMapOps, type FeatureMap, Gemm, maxPool, maxPoolRef } from "./ops.ts";

function randomMap(rng: Rng, c: number, h: number, w: number): FeatureMap {
  return { c, h, w, data: Float32Array.from({ length: c * h * w }, () => rng.normal()) };
}

Deno.test("maxPool = its plain twin (the stem's 3x3/2 pad 1, P6's 1x1/2, odd sizes, windows past the map)", () => {
  const rng = new Rng(3);
  for (
    const [h, w, k, s, p] of [[9, 12, 3, 2, 1], [7, 5, 1, 2, 0], [6, 6, 3, 1, 1], [5, 8, 2, 2, 0], [
      1,
      1,
      3,
      2,
      1,
    ]]
  ) {
    const x = randomMap(rng, 3, h!, w!);
    const out = new Float32Array(maxPoolRef(x, k!, s!, p!).data.length).fill(NaN);
    assert.deepEqual(maxPool(x, k!, s!, p!, out).data, maxPoolRef(x, k!, s!, p!).data, `${[h, w, k, s, p]}`);
  }
});

Deno.test("BufferPool: a freed array of the same length comes back; none beyond the limit", () => {
  const pool = new BufferPool(10), a = pool.take(6);
  pool.give(a);
  assert.equal(pool.take(6), a);
  assert.notEqual(pool.take(6), a);
  pool.give(new Float32Array(6));
  pool.give(new Float32Array(6)); // 12 > 10 floats: dropped
  assert.equal(pool.floats, 6);
});

Deno.test("CpuMapOps: freed maps are reused, but never an uploaded map or one handed out by read", async () => {
  const ops = new CpuMapOps(new Gemm(createBackend("reference")));
  const x = randomMap(new Rng(4), 2, 4, 4), keep = x.data.slice();
  const a = ops.maxPool(x, 1, 1, 0);
  ops.free(a);
  const b = ops.maxPool(x, 1, 1, 0);
  assert.equal(b.data, a.data); // from the pool
  const read = await ops.read(b);
  ops.free(read); // the caller's now: not given back
  ops.free(x); // uploaded: the caller's
  const c = ops.maxPool(x, 1, 1, 0), d = ops.maxPool(x, 1, 1, 0);
  assert.notEqual(c.data, read.data);
  assert.notEqual(d.data, x.data);
  assert.deepEqual(x.data, keep);
  assert.deepEqual(read.data, keep);
});
