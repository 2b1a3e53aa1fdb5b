import assert from "node:assert/strict";
import { runCli } from "@vlp/testing";
import { gpuTest } from "../model/backends/webgpu/test_util.ts";

gpuTest("bench/gpu_bench.ts --quick runs and ends with one JSON line of figures", async () => {
  const out = await runCli("bench/gpu_bench.ts", ["--quick"]);
  assert.equal(out.code, 0, out.stderr);
  const fig = out.json;
  assert.equal(fig.bench, "gpu");
  assert.equal(fig.quick, true);
  for (const name of ["qkv", "attn_out", "fc1", "fc2", "fc1_dx", "fc1_dw", "scores", "context"]) {
    assert.ok(fig.gemm[name].tflops > 0, name);
  }
  assert.ok(fig.train.examplesPerSec > 0 && Number.isFinite(fig.train.lastLoss));
  assert.equal(fig.meetsTargets, false, "quick figures never claim the targets");
});
