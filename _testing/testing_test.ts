import assert from "node:assert/strict";
import { assertClose, checkGradient, checkVjp, diffStats, fixturePath, Rng, unravel } from "@vlp/testing";
import { existsSync } from "node:fs";

Deno.test("assertClose() passes within tolerance and reports indices on failure", () => {
  assertClose([1, 2, 3], [1, 2, 3 + 1e-9], { atol: 1e-8 });
  assert.throws(
    () => assertClose([1, 2, 3, 4], [1, 2, 3, 5], { shape: [2, 2], name: "x" }),
    /x: 1 of 4 elements differ.*\[1,1\] actual=4 expected=5/s,
  );
  assert.throws(() => assertClose([1], [1, 2]), /length/);
  assert.deepEqual(unravel(7, [2, 2, 3]), [1, 0, 1]);
  assert.equal(diffStats([1, Number.NaN], [1, 2]).maxAbs, Infinity);
});

Deno.test("Rng is reproducible, restorable and roughly uniform", () => {
  const a = new Rng(7), b = new Rng(7);
  for (let i = 0; i < 10; i++) assert.equal(a.nextU32(), b.nextU32());
  const s = a.getState();
  const x = [a.float(), a.float()];
  a.setState(s);
  assert.deepEqual([a.float(), a.float()], x);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100000; i++) counts[a.int(10)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `bucket ${c}`);
  let m = 0, v = 0;
  const n = 50000;
  for (let i = 0; i < n; i++) {
    const z = a.normal();
    m += z;
    v += z * z;
  }
  assert.ok(Math.abs(m / n) < 0.02 && Math.abs(v / n - 1) < 0.03);
  assert.throws(() => a.int(0), RangeError);
});

Deno.test("checkVjp() accepts a correct gradient and rejects a wrong one", () => {
  const rng = new Rng(1);
  const x = rng.fillNormal(new Float64Array(6));
  const f = ([v]: Float64Array[]) => v!.map((t) => Math.sin(t) * t);
  const good = (
    [v]: Float64Array[],
    dy: Float64Array,
  ) => [v!.map((t, i) => (Math.cos(t) * t + Math.sin(t)) * dy[i]!)];
  const bad = ([v]: Float64Array[], dy: Float64Array) => [v!.map((t, i) => Math.cos(t) * t * dy[i]!)];
  checkVjp(f, good, [x]);
  assert.throws(() => checkVjp(f, bad, [x]), /mismatch/);
  checkGradient(([v]) => v!.reduce((s, t) => s + t * t, 0), ([v]) => [v!.map((t) => 2 * t)], [x]);
});

Deno.test("shared fixtures are reachable at ../shared", () => {
  assert.ok(existsSync(fixturePath("fixtures/README.md")), `missing ${fixturePath("fixtures/README.md")}`);
});
