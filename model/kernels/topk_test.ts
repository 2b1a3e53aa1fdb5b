import assert from "node:assert/strict";
import { topkRows } from "./topk.ts";

Deno.test("topkRows: descending, ties to the lower index, NaN skipped, unfilled slots -1", () => {
  const x = Float32Array.of(1, 3, NaN, 3, -2, /* row 2 */ NaN, NaN, 5, NaN, NaN);
  const values = new Float32Array(8), indices = new Int32Array(8);
  topkRows(x, values, indices, 2, 5, 4);
  assert.deepEqual([...indices], [1, 3, 0, 4, 2, -1, -1, -1]);
  assert.deepEqual([...values], [3, 3, 1, -2, 5, -Infinity, -Infinity, -Infinity]);
});

Deno.test("topkRows equals a sort of each row (value descending, index ascending)", () => {
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) % 9) - 4; // many ties
  const rows = 5, V = 37, k = 6;
  const x = Float32Array.from({ length: rows * V }, rnd);
  const values = new Float32Array(rows * k), indices = new Int32Array(rows * k);
  topkRows(x, values, indices, rows, V, k);
  for (let n = 0; n < rows; n++) {
    const order = [...Array(V).keys()].sort((a, b) => x[n * V + b] - x[n * V + a] || a - b).slice(0, k);
    assert.deepEqual([...indices.subarray(n * k, (n + 1) * k)], order);
    assert.deepEqual([...values.subarray(n * k, (n + 1) * k)], order.map((j) => x[n * V + j]));
  }
});
