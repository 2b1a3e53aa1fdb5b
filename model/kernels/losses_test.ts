import assert from "node:assert/strict";
import { assertClose, checkVjp, Rng } from "@vlp/testing";
import {
  bceBackward,
  bceForward,
  crossEntropyBackward,
  crossEntropyForward,
  maskedLossReduce,
} from "./losses.ts";

const N = 6, V = 13;

function logSoftmax(x: Float64Array, o: number): Float64Array {
  const row = x.subarray(o, o + V);
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  return row.map((v) => v - lse);
}

for (const smoothing of [0, 0.1]) {
  Deno.test(`crossEntropy (smoothing ${smoothing}) matches the direct formula and passes a finite-difference check`, () => {
    const rng = new Rng(12);
    const logits = rng.fillNormal(new Float64Array(N * V), 0, 2);
    const targets = Int32Array.from({ length: N }, (_, n) => (n === 2 ? 0 : 1 + rng.int(V - 1)));
    const losses = new Float64Array(N);
    crossEntropyForward(logits, targets, losses, V, smoothing);
    for (let n = 0; n < N; n++) {
      const lp = logSoftmax(logits, n * V);
      let expected = -lp[targets[n]];
      if (smoothing > 0) {
        // KL(q‖p) with q = 1−ε on the target, ε/(V−2) elsewhere except id 0; a target-0 row is all zero
        expected = 0;
        if (targets[n] !== 0) {
          for (let v = 1; v < V; v++) {
            const q = v === targets[n] ? 1 - smoothing : smoothing / (V - 2);
            expected += q * (Math.log(q) - lp[v]);
          }
        }
      }
      assertClose([losses[n]], [expected], { atol: 1e-12, rtol: 1e-12, name: `row ${n}` });
    }
    checkVjp(
      ([x]) => {
        const l = new Float64Array(N);
        crossEntropyForward(x, targets, l, V, smoothing);
        return l;
      },
      ([x], dy) => {
        const dx = new Float64Array(x.length);
        crossEntropyBackward(x, targets, dy, dx, V, smoothing);
        return [dx];
      },
      [logits],
      { name: "crossEntropy", rtol: 1e-7 },
    );
  });
}

Deno.test("maskedLossReduce() averages over masked weights, drops the worst examples and returns matching coefficients", () => {
  const b = 5, p = 3;
  const losses = Float64Array.from({ length: b * p }, (_, i) => 1 + (i % 7));
  const weights = Float64Array.from({ length: b * p }, (_, i) => (i % 4 === 3 ? 0 : 1));
  const coef = new Float64Array(b * p);
  const sums = [0, 1, 2, 3, 4].map((e) =>
    [0, 1, 2].reduce((s, q) => s + losses[e * p + q] * weights[e * p + q], 0)
  );
  const wsum = [0, 1, 2, 3, 4].map((e) => [0, 1, 2].reduce((s, q) => s + weights[e * p + q], 0));
  const all = maskedLossReduce(losses, weights, coef, b, 0);
  assertClose([all], [sums.reduce((s, v) => s + v, 0) / (wsum.reduce((s, v) => s + v, 0) + 1e-5)], {
    rtol: 1e-12,
  });
  // drop 0.2: int(5·0.8) = 4 examples kept, the one with the largest sum is dropped
  const worst = sums.indexOf(Math.max(...sums));
  const l2 = maskedLossReduce(losses, weights, coef, b, 0.2);
  const keptW = wsum.reduce((s, v, e) => s + (e === worst ? 0 : v), 0) + 1e-5;
  assertClose([l2], [sums.reduce((s, v, e) => s + (e === worst ? 0 : v), 0) / keptW], { rtol: 1e-12 });
  assert.equal(coef[worst * p], 0);
  // an explicit normalizer replaces the denominator (SCST: weights = reward·mask may be negative)
  const neg = weights.map((w, i) => (i % 2 ? -w : w));
  const l3 = maskedLossReduce(losses, neg, coef, b, 0, 1, 4);
  assertClose([l3], [losses.reduce((s, v, i) => s + v * neg[i], 0) / 4], { rtol: 1e-12 });
  assertClose(coef, neg.map((w) => w / 4), { rtol: 1e-12 });
  // coefficients are the gradient of the loss with respect to the per-position losses
  checkVjp(
    ([l]) => Float64Array.of(maskedLossReduce(l, weights, new Float64Array(b * p), b, 0.2)),
    ([l], dy) => {
      const c = new Float64Array(b * p);
      maskedLossReduce(l, weights, c, b, 0.2, dy[0]);
      return [c];
    },
    [losses],
    { name: "maskedLossReduce", rtol: 1e-7 },
  );
});

Deno.test("BCE with logits (×A, mean over B) matches the direct formula and passes a finite-difference check", () => {
  const rng = new Rng(13);
  const b = 3, a = 7;
  const x = rng.fillNormal(new Float64Array(b * a), 0, 3);
  const y = rng.fillUniform(new Float64Array(b * a));
  let direct = 0;
  for (let i = 0; i < b * a; i++) {
    const s = 1 / (1 + Math.exp(-x[i]));
    direct -= y[i] * Math.log(s) + (1 - y[i]) * Math.log(1 - s);
  }
  assertClose([bceForward(x, y, b)], [(direct / (b * a)) * a], { rtol: 1e-12 });
  checkVjp(
    ([v]) => Float64Array.of(bceForward(v, y, b)),
    ([v], dy) => {
      const dx = new Float64Array(v.length);
      bceBackward(v, y, dx, b, dy[0]);
      return [dx];
    },
    [x],
    { name: "bce", rtol: 1e-7 },
  );
});
