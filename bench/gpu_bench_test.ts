import assert from "node:assert/strict";
import { runCli, smallConfig } from "@vlp/testing";
import { gpuTest } from "../model/backends/webgpu/test_utils.ts";
import { GEMM_TILES, type GemmTableEntry } from "@vlp/model";
import { planStep } from "./gpu_plan.ts";

gpuTest("bench/gpu_bench.ts --quick --sweep runs and ends with one JSON line of figures", async () => {
  const out = await runCli("bench/gpu_bench.ts", ["--quick", "--sweep", "--steps", "1"]);
  assert.equal(out.code, 0, out.stderr);
  const fig = out.json;
  assert.equal(fig.bench, "gpu");
  assert.equal(fig.quick, true);
  for (const name of ["qkv", "attn_out", "fc1", "fc2", "fc1_dx", "fc1_dw", "scores", "context"]) {
    assert.ok(fig.gemm[name].tflops > 0, name);
  }
  assert.ok(fig.train.examplesPerSec > 0 && Number.isFinite(fig.train.lastLoss));
  assert.equal(fig.targets.train, 1.3, "the targets are ratios to the original (bench/gpu_ratios.ts)");
  // the sweep: every tile timed on every product of a step, the table of the fastest, the adapter's features
  const shapes = Object.keys(fig.gemmSweep.tflops);
  assert.equal(shapes.length, 14);
  for (const name of shapes) {
    const byTile = fig.gemmSweep.tflops[name];
    assert.deepEqual(Object.keys(byTile).sort(), Object.keys(GEMM_TILES).sort(), name);
    assert.ok(fig.gemmSweep.scalarLoads[name] > 0, name);
  }
  // one entry per product and one per Linear's backward pair (the tile of least summed dX + dW time)
  assert.equal(fig.gemmTable.entries.length, 18);
  for (const e of fig.gemmTable.entries) assert.ok(e.tile in GEMM_TILES && e.tflops > 0);
  const entries: GemmTableEntry[] = fig.gemmTable.entries;
  const pairs = entries.filter((e) => e.pair);
  assert.equal(pairs.length, 4);
  for (const e of pairs) {
    const dx = entries.find((f) =>
      !f.pair && !f.transA && !f.transB && f.m === e.m && f.n === e.n && f.k === e.k
    );
    assert.ok(dx, `a pair entry keyed by a dX shape: ${JSON.stringify(e)}`);
  }
  assert.ok(
    fig.trainUnpaired.examplesPerSec > 0 && fig.trainUnpaired.dispatchesPerStep > fig.train.dispatchesPerStep,
  );
  assert.ok(
    Array.isArray(fig.adapterInfo.features) && fig.adapterInfo.limits.maxComputeWorkgroupStorageSize > 0,
  );
  assert.ok(fig.trainDefaultTable.examplesPerSec > 0);
  if (fig.shaderF16) {
    // --fp16's GEMMs and step with float16 math beside float32 math
    assert.ok(fig.gemmF16Math.fc1.tflops > 0 && fig.gemmF16.fc1.tflops > 0);
    assert.ok(fig.trainFp16HalfMath.examplesPerSec > 0 && Number.isFinite(fig.trainFp16HalfMath.lastLoss));
  }
});

gpuTest(
  "bench/gpu_bench.ts --tiles FILE runs on a record's tile table; a file without one is named",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const table = {
        source: "a test record",
        entries: [{ transA: false, transB: true, m: 64, n: 192, k: 64, tile: "small_db" }],
      };
      await Deno.writeTextFile(`${dir}/rec.json`, JSON.stringify({ bench: { gemmTable: table } }));
      const out = await runCli("bench/gpu_bench.ts", [
        "--quick",
        "--steps",
        "1",
        "--tiles",
        `${dir}/rec.json`,
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(out.json.gemmTable, table);
      await Deno.writeTextFile(`${dir}/bad.json`, "{}");
      const bad = await runCli("bench/gpu_bench.ts", ["--quick", "--tiles", `${dir}/bad.json`]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /bad\.json: the record holds no gemmTable/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest("bench/gpu_bench.ts --plan --quick prints the step's kernel plan without timing", async () => {
  const out = await runCli("bench/gpu_bench.ts", ["--plan", "--quick"]);
  assert.equal(out.code, 0, out.stderr);
  const plan = out.json.plan;
  assert.equal(out.json.bench, "gpu_plan");
  assert.ok(plan.dispatches > 0 && plan.bytesRead > 0 && plan.bytesWritten > 0);
  assert.equal(
    Object.values(plan.kernels as Record<string, number>).reduce((a, b) => a + b, 0),
    plan.dispatches,
  );
});

gpuTest("the fused kernels take dispatches out of the training step's plan", async () => {
  const fused = await planStep(smallConfig, 2, 9, 3);
  const unfused = await planStep(smallConfig, 2, 9, 3, { fuse: false });
  // per layer: forward dropout + add of both output blocks (2 each) and the attention (4 dispatches: 1); the
  // FFN-in GEMM takes the GELU (2: 1); backward, per block, 6 dispatches (34 rows: one-stage column sums)
  // become 2 (the chunk kernel and the final sum), the attention backward (6 dispatches) is 1, and the GELU
  // backward takes the FFN-in bias sum (2 dispatches either way at 34 rows; 2 for 3 at BERT-base)
  // and the three region-branch Linears take their ReLU (3); the backward's final sums of the parameter
  // gradients (the two epilogues', the FFN-in and the Q/K/V bias sums: 4 per layer; the LayerNorm weight and
  // bias sums of the masked-LM head and the embeddings: 4) are held back and added by one grouped dispatch;
  // the region branches' dropout, ReLU backward and bias sums take one kernel per Linear (8: 3); the
  // embedding sum, its LayerNorm and dropout are one kernel (3: 1); the masked-LM transform takes its GELU
  // as the GEMM epilogue (1), its GELU backward with the bias sum (2: 1) and writes d(h) by one scatter (2: 1);
  // the embedding layer's backward takes its dropout, LayerNorm and region gradients in one chunk kernel (4: 1)
  // and its three table scatter-adds in one dispatch (3: 1; also unfused, as both share the op); each Linear
  // with an input gradient runs its dX and dW GEMMs as one pair (2: 1; 4 per layer, the masked-LM transform
  // and decoder, the second region-branch Linear)
  assert.equal(
    unfused.dispatches - fused.dispatches,
    smallConfig.numLayers * (2 * 2 + 3 + 1 + 2 * 4 + 5 + 4 + 4) + 3 + 4 - 1 + 5 + 2 + 3 + 3 + 3,
  );
  const pairs = Object.entries(fused.kernels).filter(([name]) => name.startsWith("matmul_pair_"));
  assert.equal(pairs.reduce((sum, [, n]) => sum + n, 0), 4 * smallConfig.numLayers + 3);
  assert.equal(fused.kernels["scatter_add_tables"], 1);
  assert.equal(fused.kernels["sum_chunks_group"], 1);
  assert.equal(fused.kernels["residual_layernorm"], 2 * smallConfig.numLayers);
  assert.equal(unfused.kernels["residual_layernorm"], undefined);
});
