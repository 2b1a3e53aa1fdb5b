import assert from "node:assert/strict";
import { assertClose, checkVjp, Rng } from "@vlp/testing";
import { dropoutBackward, dropoutForward, dropoutHash, dropoutThreshold } from "./dropout.ts";

Deno.test("dropoutForward() keeps about 1 − p of the elements, scaled by 1/(1 − p), deterministically per seed", () => {
  const n = 200000, p = 0.1;
  const x = new Float32Array(n).fill(1), y = new Float32Array(n), y2 = new Float32Array(n);
  dropoutForward(x, y, p, 12345);
  dropoutForward(x, y2, p, 12345);
  assert.deepEqual(y, y2);
  let kept = 0;
  for (const v of y) if (v !== 0) kept++;
  assert.ok(Math.abs(kept / n - 0.9) < 0.003, `kept fraction ${kept / n}`);
  assertClose([y.find((v) => v !== 0)!], [1 / 0.9], { rtol: 1e-6 });
  // another seed gives another mask, uncorrelated with the first
  const y3 = new Float32Array(n);
  dropoutForward(x, y3, p, 12346);
  let both = 0;
  for (let i = 0; i < n; i++) if (y[i] === 0 && y3[i] === 0) both++;
  assert.ok(Math.abs(both / n - 0.01) < 0.002, `joint drop fraction ${both / n}`);
  assert.equal(dropoutHash(5, 12345) >= dropoutThreshold(p), y[5] !== 0);
  assert.throws(() => dropoutThreshold(1), RangeError);
});

Deno.test("dropoutBackward() applies the forward mask (float64 finite-difference check)", () => {
  const rng = new Rng(9);
  const x = rng.fillNormal(new Float64Array(64));
  checkVjp(
    ([v]) => {
      const y = new Float64Array(v.length);
      dropoutForward(v, y, 0.3, 77);
      return y;
    },
    ([v], dy) => {
      const dx = new Float64Array(v.length);
      dropoutBackward(dy, dx, 0.3, 77);
      return [dx];
    },
    [x],
    { name: "dropout", rtol: 1e-7 },
  );
});
