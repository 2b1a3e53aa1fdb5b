import assert from "node:assert/strict";
import { checkVjp, Rng } from "@vlp/testing";
import {
  embeddingBackward,
  embeddingForward,
  type EmbeddingShape,
  gatherRows,
  scatterAddRows,
} from "./embedding.ts";

const V = 11, PMAX = 9, T = 3;

Deno.test("embeddingForward() replaces slots 1..R with the region inputs and passes a finite-difference check", () => {
  const rng = new Rng(10);
  const s: EmbeddingShape = { b: 2, l: 6, c: 4, posOffset: 1, r: 2 };
  const ids = Int32Array.from({ length: s.b * s.l }, () => rng.int(V));
  const seg = Int32Array.from({ length: s.b * s.l }, () => rng.int(T));
  const tables = [V, PMAX, T].map((n) => rng.fillNormal(new Float64Array(n * s.c)));
  const regions = [0, 1].map(() => rng.fillNormal(new Float64Array(s.b * s.r * s.c)));
  const fwd = ([wte, wpe, wtt, vis, pe]: Float64Array[]) => {
    const out = new Float64Array(s.b * s.l * s.c);
    embeddingForward(s, ids, seg, null, wte, wpe, wtt, vis, pe, out);
    return out;
  };
  const out = fwd([...tables, ...regions]);
  // slot 1 of sequence 1 is region 0 + geometry 0 + its segment row
  const [, , wtt] = tables;
  const o = (1 * s.l + 1) * s.c, ro = (1 * s.r) * s.c, to = seg[1 * s.l + 1] * s.c;
  assert.ok(Math.abs(out[o] - (regions[0][ro] + regions[1][ro] + wtt[to])) < 1e-12);
  checkVjp(
    fwd,
    (_x, dy) => {
      const g = [V, PMAX, T].map((n) => new Float64Array(n * s.c));
      const dvis = new Float64Array(s.b * s.r * s.c), dpe = new Float64Array(s.b * s.r * s.c);
      embeddingBackward(s, ids, seg, null, dy, g[0], g[1], g[2], dvis, dpe);
      return [...g, dvis, dpe];
    },
    [...tables, ...regions],
    { name: "embedding", rtol: 1e-7 },
  );
  assert.throws(
    () => fwd([...tables, ...regions].map((t, i) => (i === 0 ? t.subarray(0, 2 * s.c) : t))),
    RangeError,
  );
});

Deno.test("gatherRows() and scatterAddRows() are each other's transpose", () => {
  const rng = new Rng(11);
  const bx = 3, m = 5, p = 4, d = 6;
  const x = rng.fillNormal(new Float64Array(bx * m * d));
  const index = Int32Array.from({ length: bx * p }, () => rng.int(m));
  checkVjp(
    ([v]) => {
      const out = new Float64Array(bx * p * d);
      gatherRows(v, index, out, bx, d);
      return out;
    },
    (_x, dy) => {
      const dx = new Float64Array(bx * m * d);
      scatterAddRows(dy, index, dx, bx, d);
      return [dx];
    },
    [x],
    { name: "gather", rtol: 1e-7 },
  );
  index[0] = m;
  assert.throws(() => gatherRows(x, index, new Float64Array(bx * p * d), bx, d), RangeError);
});

Deno.test("embeddingForward() with explicit positions equals posOffset when they are consecutive", () => {
  const rng = new Rng(12);
  const s: EmbeddingShape = { b: 2, l: 4, c: 3, posOffset: 2, r: 0 };
  const ids = Int32Array.from({ length: 8 }, () => rng.int(V)), seg = new Int32Array(8);
  const [wte, wpe, wtt] = [V, PMAX, T].map((n) => rng.fillNormal(new Float64Array(n * s.c)));
  const a = new Float64Array(24), b = new Float64Array(24);
  embeddingForward(s, ids, seg, null, wte, wpe, wtt, null, null, a);
  embeddingForward(
    s,
    ids,
    seg,
    Int32Array.from({ length: 8 }, (_, i) => 2 + (i % 4)),
    wte,
    wpe,
    wtt,
    null,
    null,
    b,
  );
  assert.deepEqual(a, b);
});
