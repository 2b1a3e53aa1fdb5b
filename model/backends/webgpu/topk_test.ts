import { Rng } from "../../rng.ts";
import { gpuTest, openGpu, twin } from "./test_utils.ts";
import assert from "node:assert/strict";

// topk_rows against the host twin (kernels/topk.ts) through the reference backend: indices and values
// exactly equal, ties and NaN included, row parts under a small binding limit.

const rng = new Rng(5);

function inputs(rows: number, V: number, k: number) {
  // few distinct values (many ties), some NaN, one row all NaN
  const x = Float32Array.from({ length: rows * V }, () => rng.int(13) - 6);
  for (let i = 0; i < x.length; i += 17) x[i] = NaN;
  x.fill(NaN, 0, V);
  return {
    x: { shape: [rows, V], data: x },
    values: { shape: [rows, k] },
    indices: { shape: [rows, k], dtype: "int32" as const },
    stats: { shape: [rows, 2] },
  };
}

const exact = { values: { atol: 0, rtol: 0 }, indices: { atol: 0, rtol: 0 }, stats: { atol: 0, rtol: 2e-6 } };

for (const [rows, V, k] of [[7, 1000, 1], [4, 30, 5], [3, 300, 32], [2, 3, 3]] as const) {
  gpuTest(`topkRows equals its host twin (${rows}×${V}, k ${k})`, async (gpu) => {
    await twin(gpu, inputs(rows, V, k), (be, t) => be.topkRows(t as never), exact);
  });
}

gpuTest("topkRows splits rows by the binding limit", async () => {
  const small = await openGpu({ maxBindingBytes: 1024 }); // 256 floats: 8 rows of 30 per part
  try {
    await twin(small, inputs(20, 30, 4), (be, t) => be.topkRows(t as never), exact);
    assert.ok(small.rt.counter.snapshot().kernels["topk_rows"] > 1);
  } finally {
    small.destroy();
  }
});
