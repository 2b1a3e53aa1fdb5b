import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import type { WebGpuBackend } from "./backend.ts";
import { gpuTest, openGpu, twin } from "./test_utils.ts";

function normal(rng: Rng, n: number, mean = 0, std = 1): Float32Array {
  return rng.fillNormal(new Float32Array(n), mean, std);
}

async function lossCases(gpu: WebGpuBackend, rng: Rng, label: string): Promise<void> {
  // cross entropy at gathered positions: N = B·P = 2·3 rows over a vocabulary of V = 517
  const [N, V] = [6, 517];
  const targets = Int32Array.from([5, 0, 516, 17, 17, 3]);
  const dlosses = Float32Array.from([0.5, 1, 0, 2, -1, 0.25]);
  for (const smoothing of [0, 0.1]) {
    await twin(
      gpu,
      {
        logits: { shape: [N, V], data: normal(rng, N * V, 0, 3) },
        targets: { shape: [N], data: targets, dtype: "int32" },
        losses: { shape: [N] },
        dlosses: { shape: [N], data: dlosses },
        dlogits: { shape: [N, V] },
      },
      (be, t) => {
        be.crossEntropy({ logits: t.logits, targets: t.targets, losses: t.losses, smoothing });
        be.crossEntropyBackward({
          logits: t.logits,
          targets: t.targets,
          dlosses: t.dlosses,
          dlogits: t.dlogits,
          smoothing,
        });
      },
      { losses: { atol: 2e-5, rtol: 2e-6 }, dlogits: { atol: 1e-7, rtol: 1e-5 } },
      `${label} crossEntropy ε=${smoothing}`,
    );
  }

  // masked-LM reduction with drop-worst: B = 10 examples, P = 3 (ties and zero weights included)
  const [B, P] = [10, 3];
  const losses = Float32Array.from({ length: B * P }, (_, i) => 1 + ((i * 7) % 5));
  const weights = Float32Array.from({ length: B * P }, (_, i) => (i % 4 === 3 ? 0 : 1));
  const cases: [number, number | undefined][] = [[0, undefined], [0.2, undefined], [0.55, undefined], [
    0.2,
    7.5,
  ]];
  for (const [ratio, normalizer] of cases) {
    await twin(
      gpu,
      {
        losses: { shape: [B, P], data: losses },
        weights: { shape: [B, P], data: weights },
        out: { shape: [1] },
        coef: { shape: [B, P] },
      },
      (be, t) => {
        be.maskedLossReduce({
          losses: t.losses,
          weights: t.weights,
          out: t.out,
          coef: t.coef,
          dropWorstRatio: ratio,
          scale: 0.5,
        });
      },
      { out: { atol: 1e-6, rtol: 1e-6 }, coef: { atol: 1e-8, rtol: 1e-6 } },
      `${label} maskedLossReduce ${ratio} ${normalizer}`,
    );
  }

  // VQA BCE with logits: B = 3, A = 301 (several partial sums)
  const [b, A] = [3, 301];
  await twin(
    gpu,
    {
      logits: { shape: [b, A], data: normal(rng, b * A, 0, 4) },
      targets: { shape: [b, A], data: rng.fillUniform(new Float32Array(b * A)) },
      out: { shape: [1] },
      dlogits: { shape: [b, A] },
    },
    (be, t) => {
      be.bceWithLogits({ logits: t.logits, targets: t.targets, out: t.out });
      be.bceWithLogitsBackward({ logits: t.logits, targets: t.targets, dlogits: t.dlogits, scale: 2 });
    },
    { out: { atol: 1e-5, rtol: 1e-5 }, dlogits: { atol: 1e-7, rtol: 1e-5 } },
    `${label} bce`,
  );

  // BertAdam: a small gradient (no clip), a large one (clipped), a long tensor (many partial sums)
  for (
    const [n, std, wd, maxGradNorm] of [[33, 0.01, 0.01, 1], [700, 3, 0, 1], [70000, 0.5, 0.01, 1], [
      50,
      3,
      0.01,
      0,
    ]]
  ) {
    await twin(gpu, {
      param: { shape: [n], data: normal(rng, n) },
      grad: { shape: [n], data: normal(rng, n, 0, std) },
      m: { shape: [n], data: normal(rng, n, 0, 0.01) },
      v: { shape: [n], data: rng.fillUniform(new Float32Array(n), 0, 1e-3) },
    }, (be, t) => {
      for (let step = 0; step < 2; step++) {
        be.bertAdamUpdate({
          param: t.param,
          grad: t.grad,
          m: t.m,
          v: t.v,
          lr: 1e-3,
          weightDecay: wd,
          maxGradNorm,
        });
      }
    }, {
      param: { atol: 1e-6, rtol: 1e-6 },
      m: { atol: 1e-8, rtol: 1e-5 },
      v: { atol: 1e-10, rtol: 1e-5 },
      grad: { atol: 0, rtol: 0 },
    }, `${label} bertAdam n=${n} std=${std}`);
  }
}

gpuTest("webgpu cross entropy, masked-LM reduction, BCE and BertAdam match the reference", async (gpu) => {
  await lossCases(gpu, new Rng(30), "default");
});

gpuTest("webgpu losses and BertAdam split by a tiny binding limit give the same results", async (_gpu) => {
  const small = await openGpu({ maxBindingBytes: 3072, maxWorkgroupsPerDim: 4 });
  try {
    await lossCases(small, new Rng(30), "split");
  } finally {
    small.destroy();
  }
});

gpuTest("webgpu cross entropy reports a target outside the vocabulary", async (gpu) => {
  const logits = gpu.alloc([2, 5]), targets = gpu.alloc([2], "int32"), losses = gpu.alloc([2]);
  gpu.write(targets, [1, 5]);
  gpu.crossEntropy({ logits, targets, losses });
  await assert.rejects(
    gpu.read(losses),
    /kernel cross_entropy: target 5 at flat position 1 is outside \[0, 5\)/,
  );
  for (const t of [logits, targets, losses]) gpu.free(t);
});
