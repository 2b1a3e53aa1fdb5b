/**
 * The decode and train paths on WebGPU against the float32 reference twin, beyond the single operations:
 * the incremental decoder (start, expand, step, reorder; eval mode and SCST's train mode with dropout) and
 * an SCST-style loss (explicit position ids, reward weights with a normalizer, loss scale, dropout on).
 */
import assert from "node:assert/strict";
import { assertClose, microConfig, randomBatch, Rng } from "@vlp/testing";
import type { Backend, HostArray } from "../../backend.ts";
import { VlpModel } from "../../vlp.ts";
import { IncrementalDecoder } from "../../incremental.ts";
import { ReferenceBackend } from "../reference.ts";
import { gpuTest } from "./test_utils.ts";

const cfg = microConfig;
const R = cfg.regions, A = R + 2, F = cfg.regionFeatureSize, G = cfg.regionGeometrySize;
const B = 2, T = 5, L = A + T, W = 3, MASK = 4;

/** Logits of every call of a beam-shaped decode on `be` (train mode when `dropoutSeed` is given). */
async function decodeLogits(be: Backend, dropoutSeed?: number): Promise<HostArray[]> {
  const rng = new Rng(31);
  const model = new VlpModel({ config: cfg, backend: be, seed: 4 });
  const dec = new IncrementalDecoder(model, { maxImages: B, maxWidth: W, maxLength: L });
  const out: HostArray[] = [];
  out.push(
    await be.read(dec.start({
      regionFeats: rng.fillNormal(new Float32Array(B * R * F)),
      visPe: rng.fillUniform(new Float32Array(B * R * G)),
      inputIds: Int32Array.from({ length: B * A }, (_, i) => (i % A === 0 ? 1 : i % A === A - 1 ? 3 : 2)),
      segmentIds: Int32Array.from({ length: B * L }, (_, i) => (i % L < A ? 4 : 5)),
      maskId: MASK,
      ...(dropoutSeed === undefined ? {} : { dropoutRng: new Rng(dropoutSeed) }),
    })),
  );
  dec.expand(W);
  for (let t = 1; t < dec.maxSteps; t++) {
    out.push(await be.read(dec.step(Array.from({ length: B * W }, () => 5 + rng.int(cfg.vocabSize - 5)))));
    dec.reorder(Array.from({ length: B * W }, (_, n) => Math.floor(n / W) * W + rng.int(W)));
  }
  return out;
}

gpuTest("webgpu incremental decoding (eval and train mode) matches the reference backend", async (gpu) => {
  for (const seed of [undefined, 5]) {
    const ref = await decodeLogits(new ReferenceBackend(), seed);
    const got = await decodeLogits(gpu, seed);
    assert.equal(got.length, T);
    got.forEach((g, i) =>
      assertClose(g, ref[i], { atol: 1e-5, rtol: 1e-5, name: `call ${i} (dropout seed ${seed})` })
    );
  }
  // train mode really drops: the logits differ from eval mode's
  assert.notDeepEqual([...(await decodeLogits(gpu, 5))[1]], [...(await decodeLogits(gpu))[1]]);
});

/** SCST-style step on `be`: loss and every gradient. */
async function scstStep(be: Backend): Promise<{ loss: number; grads: HostArray }> {
  const batch = randomBatch(cfg, { B: 3, T: 6, P: 4, mode: "s2s", seed: 9 });
  const Lb = R + 2 + 6, rng = new Rng(2);
  // positions of the doubled layout are not the slot indices: any in-range position ids
  const positionIds = Int32Array.from({ length: 3 * Lb }, () => rng.int(cfg.maxPositions));
  const maskedWeights = Float32Array.from(batch.maskedWeights!, (w) => w * rng.uniform(-0.5, 0.5)); // rewards
  const model = new VlpModel({ config: cfg, backend: be, seed: 6 });
  model.zeroGrad();
  const loss = await model.readScalar(
    model.forwardBackward({ ...batch, positionIds, maskedWeights }, { normalizer: 5, lossScale: 0.5 }),
  );
  return { loss, grads: await be.read(model.grads) };
}

gpuTest(
  "webgpu SCST-style loss (position ids, normalizer, loss scale, dropout) matches the reference",
  async (gpu) => {
    const ref = await scstStep(new ReferenceBackend());
    const got = await scstStep(gpu);
    assertClose([got.loss], [ref.loss], { atol: 1e-5, rtol: 1e-5, name: "loss" });
    assertClose(got.grads, ref.grads, { atol: 1e-5, rtol: 1e-4, name: "gradients" });
  },
);
