import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { expFast } from "./fastmath.ts";

Deno.test("expFast() is within 1e-8 relative of Math.exp over the float range and handles the edges", () => {
  const rng = new Rng(1);
  for (let i = 0; i < 200000; i++) {
    const x = rng.uniform(-700, 700);
    const e = Math.exp(x);
    assert.ok(Math.abs(expFast(x) - e) <= 1e-8 * e, `x = ${x}`);
  }
  assert.equal(expFast(0), 1);
  assert.ok(expFast(-1000) < 1e-300);
  assert.ok(expFast(1000) > 1e300 && Number.isFinite(expFast(1000)));
  assert.ok(Number.isNaN(expFast(NaN)));
});
