import assert from "node:assert/strict";
import { normalizeMatmul } from "../../backend_contract.ts";
import type { Tensor } from "../../backend.ts";
import { GEMM_TILES, gemmTileBytes } from "./kernels/matmul.ts";
import {
  DEFAULT_GEMM_TABLE,
  type GemmTable,
  gemmTableFromRecord,
  lookupGemmTile,
  lookupPairTile,
} from "./ops/gemm_table.ts";
import { gemmTile } from "./ops/matmul.ts";

const nt = { transA: false, transB: true };

Deno.test("gemm table: the default table's choices by transpose case and size class", () => {
  assert.equal(lookupGemmTile(DEFAULT_GEMM_TABLE, { ...nt, m: 7872, n: 2304, k: 768 }), "large_k8");
  assert.equal(
    lookupGemmTile(DEFAULT_GEMM_TABLE, { transA: true, transB: false, m: 768, n: 768, k: 984 }),
    "half_n",
  );
  assert.equal(lookupGemmTile(DEFAULT_GEMM_TABLE, { ...nt, m: 123, n: 123, k: 64 }), "small");
  assert.equal(lookupGemmTile(DEFAULT_GEMM_TABLE, { ...nt, m: 4000, n: 100, k: 64 }), "small");
  // no entry for TT: the class default
  assert.equal(
    lookupGemmTile(DEFAULT_GEMM_TABLE, { transA: true, transB: true, m: 512, n: 512, k: 64 }),
    "half_n",
  );
});

Deno.test("gemm table: a swept table picks the nearest measured shape of the same case and class", () => {
  const table: GemmTable = {
    source: "test",
    entries: [
      { ...nt, m: 7872, n: 768, k: 768, tile: "half_m_db" },
      { ...nt, m: 7872, n: 3072, k: 768, tile: "large_k8_db" },
      { ...nt, m: 123, n: 123, k: 64, batch: 768, tile: "small_db" },
      { transA: false, transB: false, m: 7872, n: 768, k: 3072, tile: "tall" },
    ],
  };
  assert.equal(lookupGemmTile(table, { ...nt, m: 7872, n: 768, k: 768 }), "half_m_db");
  assert.equal(lookupGemmTile(table, { ...nt, m: 7872, n: 2304, k: 768 }), "large_k8_db");
  assert.equal(lookupGemmTile(table, { ...nt, m: 246, n: 2000, k: 96 }), "large_k8_db");
  assert.equal(lookupGemmTile(table, { ...nt, m: 64, n: 64, k: 64 }), "small_db");
  assert.equal(lookupGemmTile(table, { transA: false, transB: false, m: 64, n: 64, k: 64 }), "small");
  assert.equal(lookupGemmTile(table, { transA: false, transB: false, m: 512, n: 512, k: 512 }), "tall");
});

Deno.test("gemm table: backward pairs look up their own entries, which other products ignore", () => {
  // the default: the H200 sweep's least summed dX + dW time for large products, `small` for small ones
  assert.equal(lookupPairTile(DEFAULT_GEMM_TABLE, { m: 7872, n: 768, k: 768 }), "half_m");
  assert.equal(lookupPairTile(DEFAULT_GEMM_TABLE, { m: 984, n: 96, k: 72 }), "small");
  const nn = { transA: false, transB: false };
  const table: GemmTable = {
    source: "test",
    entries: [
      { ...nn, m: 7872, n: 768, k: 3072, tile: "tall" },
      { ...nn, pair: true, m: 7872, n: 768, k: 3072, tile: "half_n_k8" },
      { ...nn, pair: true, m: 7872, n: 768, k: 768, tile: "large_k8_db" },
    ],
  };
  assert.equal(lookupGemmTile(table, { ...nn, m: 7872, n: 768, k: 768 }), "tall", "not a pair entry");
  assert.equal(lookupPairTile(table, { m: 7872, n: 768, k: 3072 }), "half_n_k8");
  assert.equal(lookupPairTile(table, { m: 7000, n: 700, k: 800 }), "large_k8_db");
  assert.equal(
    lookupPairTile({ source: "test", entries: table.entries.slice(0, 1) }, { m: 512, n: 512, k: 512 }),
    "half_m",
  );
  assert.throws(
    () =>
      gemmTableFromRecord({ gemmTable: { entries: [{ ...nn, m: 8, n: 8, k: 8, tile: "small", pair: 1 }] } }),
    /entry 0/,
  );
});

Deno.test("gemm table: read from a bench record or gpu_check's line; bad tables are named", () => {
  const table = { source: "H200", entries: [{ ...nt, m: 8, n: 8, k: 8, tile: "small_db", tflops: 1 }] };
  assert.deepEqual(gemmTableFromRecord({ gemmTable: table }), table);
  assert.deepEqual(gemmTableFromRecord({ bench: { gemmTable: table } }), table);
  assert.throws(() => gemmTableFromRecord({ bench: {} }), /holds no gemmTable/);
  assert.throws(
    () => gemmTableFromRecord({ gemmTable: { entries: [{ ...nt, m: 8, n: 8, k: 8, tile: "huge" }] } }),
    /entry 0/,
  );
});

Deno.test("gemm tiles: a double-buffered tile over the workgroup memory limit runs single-stage", () => {
  const fake = { size: 1 << 20, shape: [1 << 20], dtype: "float" } as unknown as Tensor;
  const g = normalizeMatmul({ a: fake, b: fake, c: fake, m: 256, n: 256, k: 64 });
  assert.ok(gemmTileBytes("large_db") > 32768 && gemmTileBytes("large_k8_db") <= 32768);
  assert.equal(gemmTile(g, { gemmTile: "large_db" }, 32768), "large");
  assert.equal(gemmTile(g, { gemmTile: "large_db" }, 49152), "large_db");
  assert.equal(gemmTile(g, { gemmLargeTile: "large_k8_db" }, 32768), "large_k8_db");
  assert.equal(gemmTile(g, { gemmLargeTile: "large_k8_db" }, 16384), "large_k8");
  // every tile divides into whole vec4 loads per invocation (the kernel's requirement)
  for (const [name, t] of Object.entries(GEMM_TILES)) {
    const wg = (t.bm / t.tm) * (t.bn / t.tn);
    assert.ok((t.bm * t.bk) % (4 * wg) === 0 && (t.bk * t.bn) % (4 * wg) === 0, name);
  }
});
