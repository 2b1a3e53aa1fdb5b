import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import {
  type Backend,
  NoAdapterError,
  openBackend,
  parseConfig,
  ReferenceBackend,
  tinyConfig,
  VlpModel,
} from "@vlp/model";
import { CaptionDecoder } from "./caption_decoder.ts";

// Greedy decoding with the argmax on the backend (topkRows, k = 1: only ids and their logits come back each
// step) against the host argmax over whole logits rows (`hostArgmax`), on the tiny model: identical ids and
// scores on the same backend, and identical ids across backends. Beam search from the backend's top W + 1
// of each row (and its log-sum-exp terms) against the host's log-softmax of whole rows (`hostRows`):
// identical hypotheses, scores within float32 rounding of the sums.

const config = parseConfig(tinyConfig);

/**
 * `fn` on a WebGPU backend, destroyed afterwards; without an adapter the test is skipped (a step says so),
 * unless `VLP_REQUIRE_GPU=1`.
 */
async function withGpu(t: Deno.TestContext, fn: (gpu: Backend) => Promise<void>): Promise<void> {
  let gpu: Backend;
  try {
    gpu = await openBackend("webgpu");
  } catch (e) {
    if (e instanceof NoAdapterError && Deno.env.get("VLP_REQUIRE_GPU") !== "1") {
      await t.step({ name: "skipped: no WebGPU adapter", ignore: true, fn: () => {} });
      return;
    }
    throw e;
  }
  try {
    await fn(gpu);
  } finally {
    (gpu as { destroy?: () => void }).destroy?.();
  }
}
const B = 3, T = 8;

async function greedyBoth(be: Backend) {
  const model = new VlpModel({ config, backend: be, seed: 21 });
  const rng = new Rng(9);
  const { regions: R, regionFeatureSize: F, regionGeometrySize: G } = config;
  const images = {
    regionFeats: rng.fillNormal(new Float32Array(B * R * F)),
    visPe: rng.fillUniform(new Float32Array(B * R * G)),
  };
  const dec = new CaptionDecoder(model, { maxImages: B, maxTgtLength: T });
  assert.ok(dec.scorer(images).startTop, "the decoder offers the device-side top-k");
  const device = await dec.greedy(images, { stopEarly: false });
  const host = await dec.greedy(images, { stopEarly: false, hostArgmax: true });
  return { device, host };
}

Deno.test("greedy decoding: the argmax through the backend equals the host argmax (reference)", async () => {
  const { device, host } = await greedyBoth(new ReferenceBackend());
  assert.deepEqual(device.ids, host.ids);
  assert.deepEqual(device.scores, host.scores);
});

Deno.test("greedy decoding on webgpu: device argmax = host argmax, and the reference backend's ids", async (t) => {
  await withGpu(t, async (gpu) => {
    const { device, host } = await greedyBoth(gpu);
    assert.deepEqual(device.ids, host.ids);
    assert.deepEqual(device.scores, host.scores);
    const ref = await greedyBoth(new ReferenceBackend());
    assert.deepEqual(device.ids, ref.host.ids);
    for (let i = 0; i < B * T; i++) assert.ok(Math.abs(device.scores[i] - ref.host.scores[i]) < 1e-4);
  });
});

async function beamBoth(be: Backend, W: number, minLen: number) {
  const model = new VlpModel({ config, backend: be, seed: 21 });
  const rng = new Rng(9);
  const { regions: R, regionFeatureSize: F, regionGeometrySize: G } = config;
  const images = {
    regionFeats: rng.fillNormal(new Float32Array(B * R * F)),
    visPe: rng.fillUniform(new Float32Array(B * R * G)),
  };
  const dec = new CaptionDecoder(model, { maxImages: B, maxWidth: W, maxTgtLength: T });
  assert.ok(dec.scorer(images).stepTop, "the decoder offers the device-side top-k");
  const opts = { width: W, minLen, lengthPenalty: 0.1, stopEarly: false };
  const device = await dec.beam(images, opts);
  const host = await dec.beam(images, { ...opts, hostRows: true });
  return { device, host };
}

function sameBeams(a: Awaited<ReturnType<typeof beamBoth>>["device"], b: typeof a, tol: number) {
  assert.deepEqual(a.hypotheses.map((h) => [...h.tokens]), b.hypotheses.map((h) => [...h.tokens]));
  for (let i = 0; i < a.hypotheses.length; i++) {
    assert.ok(Math.abs(a.hypotheses[i].score - b.hypotheses[i].score) <= tol, `score of image ${i}`);
  }
}

Deno.test("beam search from the backend's top W + 1 equals the host's log-softmax rows (reference)", async () => {
  for (const [W, minLen] of [[3, 0], [5, 4]]) {
    const { device, host } = await beamBoth(new ReferenceBackend(), W, minLen);
    sameBeams(device, host, 1e-5);
  }
});

Deno.test("beam search on webgpu from the device's top W + 1 equals the host rows and the reference", async (t) => {
  await withGpu(t, async (gpu) => {
    const { device, host } = await beamBoth(gpu, 5, 4);
    sameBeams(device, host, 1e-5);
    sameBeams(device, (await beamBoth(new ReferenceBackend(), 5, 4)).host, 1e-4);
  });
});
