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
// scores on the same backend, and identical ids across backends.

const config = parseConfig(tinyConfig);
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
  let gpu: Backend;
  try {
    gpu = await openBackend("webgpu");
  } catch (e) {
    if (e instanceof NoAdapterError && Deno.env.get("VLP_REQUIRE_GPU") !== "1") {
      t.step({ name: "skipped: no WebGPU adapter", ignore: true, fn: () => {} });
      return;
    }
    throw e;
  }
  try {
    const { device, host } = await greedyBoth(gpu);
    assert.deepEqual(device.ids, host.ids);
    assert.deepEqual(device.scores, host.scores);
    const ref = await greedyBoth(new ReferenceBackend());
    assert.deepEqual(device.ids, ref.host.ids);
    for (let i = 0; i < B * T; i++) assert.ok(Math.abs(device.scores[i] - ref.host.scores[i]) < 1e-4);
  } finally {
    (gpu as { destroy?: () => void }).destroy?.();
  }
});
