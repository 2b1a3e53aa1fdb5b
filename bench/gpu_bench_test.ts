import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { gpuTest } from "../model/backends/webgpu/test_util.ts";

const SCRIPT = fileURLToPath(new URL("./gpu_bench.ts", import.meta.url));

gpuTest("bench/gpu_bench.ts --quick runs and ends with one JSON line of figures", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, "--quick"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const fig = JSON.parse(lines.at(-1)!);
  assert.equal(fig.bench, "gpu");
  assert.equal(fig.quick, true);
  for (const name of ["qkv", "attn_out", "fc1", "fc2", "fc1_dx", "fc1_dw", "scores", "context"]) {
    assert.ok(fig.gemm[name].tflops > 0, name);
  }
  assert.ok(fig.train.examplesPerSec > 0 && Number.isFinite(fig.train.lastLoss));
  assert.equal(fig.meetsTargets, false, "quick figures never claim the targets");
});
