import assert from "node:assert/strict";
import { join } from "node:path";
import { loadTorchStateDict } from "@vlp/io";
import { runCli } from "@vlp/testing";
import { gpuTest } from "../../model/backends/webgpu/test_utils.ts";
import { COCO_FLAGS, readTrainLog, TINY_MODEL_FLAGS } from "./test_utils.ts";

const flags = (dir: string, extra: string[]) => [
  "--output_dir",
  dir,
  ...TINY_MODEL_FLAGS,
  ...COCO_FLAGS,
  "--train_batch_size",
  "4",
  "--learning_rate",
  "2e-3",
  "--num_train_epochs",
  "1",
  "--seed",
  "7",
  "--backend",
  "webgpu",
  ...extra,
];

gpuTest(
  "train CLI --fp16 on webgpu: losses within 2e-2 of float32 (float32 or float16 GEMM math), the loss scale logged, float32 checkpoints",
  async (gpu) => {
    if (!gpu.hasF16) return; // an adapter without shader-f16 refuses --fp16 (model/half_test.ts)
    const d32 = await Deno.makeTempDir({ prefix: "vlp_f32_" }),
      d16 = await Deno.makeTempDir({ prefix: "vlp_f16_" }),
      dh = await Deno.makeTempDir({ prefix: "vlp_f16m_" });
    try {
      const a = await runCli("train/cli/train.ts", flags(d32, []));
      assert.equal(a.code, 0, a.stderr);
      const b = await runCli("train/cli/train.ts", flags(d16, ["--fp16"]));
      assert.equal(b.code, 0, b.stderr);
      assert.equal(b.json.fp16, true);
      const batches = async (dir: string) => (await readTrainLog(dir)).filter((r) => r.type === "batch");
      const r32 = await batches(d32), r16 = await batches(d16);
      assert.equal(r16.length, 7);
      let worst = 0;
      r16.forEach((r, i) => {
        const diff = Math.abs((r.loss as number) - (r32[i].loss as number));
        worst = Math.max(worst, diff);
        assert.ok(diff <= 2e-2, `batch ${i}: loss ${r.loss} vs float32 ${r32[i].loss}`);
        assert.equal(r.loss_scale, 2 ** 16, "the loss scale of every batch is in the log");
        assert.equal(r32[i].loss_scale, undefined);
      });
      console.error(
        `largest |loss(fp16) − loss(float32)| over ${r16.length} batches: ${worst.toExponential(2)}`,
      );
      // the float16 weights are really used: the losses are close to float32's, not equal to them
      assert.ok(worst > 0, "the --fp16 losses are bit-identical to float32's");
      const sd = await loadTorchStateDict(join(d16, "model.1.bin"));
      const w = sd.get("bert.encoder.layer.0.attention.self.query.weight")!;
      assert.equal(w.dtype, "float32");
      // the float16-math GEMMs (VLP_GEMM_HALF_MATH=1): float16 tiles and K-tile sums, losses still within 2e-2
      const c = await runCli("train/cli/train.ts", flags(dh, ["--fp16"]), {
        env: { VLP_GEMM_HALF_MATH: "1" },
      });
      assert.equal(c.code, 0, c.stderr);
      const rh = await batches(dh);
      assert.equal(rh.length, r32.length);
      let worstHalf = 0, differs = false;
      rh.forEach((r, i) => {
        const diff = Math.abs((r.loss as number) - (r32[i].loss as number));
        worstHalf = Math.max(worstHalf, diff);
        assert.ok(diff <= 2e-2, `float16 math, batch ${i}: loss ${r.loss} vs float32 ${r32[i].loss}`);
        if (r.loss !== r16[i].loss) differs = true;
      });
      console.error(`float16 math: largest |loss − loss(float32)| ${worstHalf.toExponential(2)}`);
      assert.ok(differs, "VLP_GEMM_HALF_MATH=1 changed nothing");
    } finally {
      await Deno.remove(d32, { recursive: true });
      await Deno.remove(d16, { recursive: true });
      await Deno.remove(dh, { recursive: true });
    }
  },
);
