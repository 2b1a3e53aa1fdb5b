import assert from "node:assert/strict";
import { GPU_TARGETS, gpuRatios, gpuRatiosOfLines } from "./gpu_ratios.ts";

Deno.test("gpu ratios: the H200 record of 2026-11-27 gives its 0.70x step and 0.55x GEMM, no target met", async () => {
  const rec = JSON.parse(await Deno.readTextFile(new URL("./results/gpu_h200.json", import.meta.url)));
  const r = gpuRatios({ plan: null, bench: rec.bench, anchor: rec.anchor, decode: null });
  assert.equal(
    r.train,
    Number((rec.bench.train.examplesPerSec / rec.anchor.train.examplesPerSec).toFixed(3)),
  );
  assert.equal(r.train, Number(rec.ratio_train.toFixed(3)));
  assert.ok(r.gemmFc1! > 0.5 && r.gemmFc1! < 0.6, `${r.gemmFc1}`);
  assert.deepEqual(r.meets, { train: false, gemm: false, gemmF16: false, beam5: null, dispatches: null });
});

Deno.test("gpu ratios: each target against its threshold; missing stages and a decoder on the CPU give null", () => {
  const lines = [
    { config: "bert-base", plan: { dispatches: 228 } },
    {
      train: { examplesPerSec: 520 },
      trainFp16: { examplesPerSec: 700 },
      trainUnpaired: { examplesPerSec: 500 },
      gemm: { fc1: { tflops: 40.6 } },
      gemmF16: { fc1: { tflops: 40 } },
      gemmF16Math: { fc1: { tflops: 50 } },
      trainFp16HalfMath: { examplesPerSec: 800 },
    },
    { train: { examplesPerSec: 400 }, gemm_fc1: { tflops: 47.7 } },
    { original_device: "cuda", greedy: { ratio_side_by_side: 2.5 }, beam5: { ratio_side_by_side: 3.2 } },
  ].map((x) => JSON.stringify(x)).join("\n");
  const r = gpuRatiosOfLines(lines);
  assert.equal(r.train, 1.3);
  assert.equal(r.trainFp16, 1.75);
  assert.equal(r.trainUnpaired, 1.25);
  assert.equal(r.trainFp16HalfMath, 2);
  assert.equal(r.gemmFc1F16, 0.839);
  assert.equal(r.gemmFc1F16Math, 1.048);
  assert.equal(r.gemmFc1, 0.851);
  assert.equal(r.beam5, 3.2);
  assert.deepEqual(r.meets, { train: true, gemm: true, gemmF16: true, beam5: true, dispatches: true });
  // the original decoder on the CPU is no same-GPU figure; stages that gave no line are null
  const cpu = gpuRatiosOfLines(
    `null\nnull\nnull\n${JSON.stringify({ original_device: "cpu", beam5: { ratio_side_by_side: 9 } })}`,
  );
  assert.equal(cpu.beam5, null);
  assert.deepEqual(cpu.meets, { train: null, gemm: null, gemmF16: null, beam5: null, dispatches: null });
  const plan = (config: string, n: number) => JSON.stringify({ config, plan: { dispatches: n } });
  assert.equal(gpuRatiosOfLines(plan("bert-base", GPU_TARGETS.dispatches)).meets.dispatches, false);
  assert.equal(gpuRatiosOfLines(plan("small", 63)).meets.dispatches, null, "a --quick plan");
  const quick = JSON.stringify({ quick: true, train: { examplesPerSec: 54 } });
  assert.equal(
    gpuRatiosOfLines(`null
${quick}
${JSON.stringify({ train: { examplesPerSec: 1 } })}`).train,
    null,
  );
});
