import assert from "node:assert/strict";
import { Rng, VlpModel } from "@vlp/model";
import { microConfig, randomBatch } from "@vlp/testing";
import {
  advanceRng,
  buckets,
  checkScalesAgree,
  checkWeightsAgree,
  drawsBetween,
  gatherRows,
  rankBatches,
  sumOverRanks,
  WeightsDivergedError,
} from "./data_parallel.ts";
import { layerRanges, OverlappedReducer } from "./overlap.ts";
import { LocalWorld } from "./world.ts";
import { localRanks } from "./test_utils.ts";
import { DynamicLossScale } from "../loss_scale.ts";

Deno.test("rankBatches() deals as torch's DistributedSampler(shuffle=False), without its padded tail", async () => {
  // testdata/distributed_sampler.py wrote torch's indices per rank
  const cases: { n: number; world: number; ranks: number[][] }[] = JSON.parse(
    await Deno.readTextFile(new URL("./testdata/distributed_sampler.json", import.meta.url)),
  );
  for (const { n, world, ranks } of cases) {
    for (let r = 0; r < world; r++) {
      // torch pads the list with its head to a multiple of the world size; those slots come last
      const torch = ranks[r].filter((_, k) => r + k * world < n);
      assert.deepEqual(rankBatches(n, world, r), torch, `n ${n}, world ${world}, rank ${r}`);
    }
    assert.deepEqual(
      Array.from({ length: world }, (_, r) => rankBatches(n, world, r)).flat().sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
  }
  assert.throws(() => rankBatches(4, 2, 2), /Invalid rank 2 of a world of 2/);
});

Deno.test("buckets(), advanceRng() and drawsBetween()", () => {
  assert.deepEqual(buckets(10, 4), [{ offset: 0, size: 4 }, { offset: 4, size: 4 }, { offset: 8, size: 2 }]);
  const rng = new Rng(5), s0 = rng.getState();
  advanceRng(rng, 37);
  const s1 = rng.getState();
  assert.equal(drawsBetween(rng, s0, s1), 37);
  assert.deepEqual(rng.getState(), s1); // left as it was
  assert.throws(() => drawsBetween(rng, s1, s0, 100), /not reached within 100 draws/);
});

Deno.test("gatherRows(): every rank receives every rank's row", async () => {
  const ranks = localRanks(3);
  const rows = await Promise.all(ranks.map((w) => gatherRows(w, [w.rank, 10 * w.rank + 1])));
  for (const r of rows) assert.deepEqual(r.map((x) => [...x]), [[0, 1], [1, 11], [2, 21]]);
});

Deno.test("checkWeightsAgree(): equal weights pass; a changed weight stops every rank naming the step", async () => {
  const [w0, w1] = localRanks(2);
  const a = new VlpModel({ config: microConfig, seed: 3 }),
    b = new VlpModel({ config: microConfig, seed: 3 });
  await Promise.all([
    checkWeightsAgree(a, w0, { step: 5, epoch: 1 }),
    checkWeightsAgree(b, w1, { step: 5, epoch: 1 }),
  ]);
  const p = await b.backend.read(b.params);
  p[1234] += 1e-7;
  b.backend.write(b.params, p);
  const results = await Promise.allSettled([
    checkWeightsAgree(a, w0, { step: 6, epoch: 2 }),
    checkWeightsAgree(b, w1, { step: 6, epoch: 2 }),
  ]);
  for (const r of results) {
    assert.equal(r.status, "rejected");
    const e = (r as PromiseRejectedResult).reason;
    assert.ok(e instanceof WeightsDivergedError && e.step === 6);
    assert.match(e.message, /the ranks' weights differ after optimizer step 6 \(epoch 2\)/);
  }
});

Deno.test("OverlappedReducer: buckets start during the backward, layer by layer; the sums equal the plain sum", async () => {
  const ranks = localRanks(2);
  const models = ranks.map(() => new VlpModel({ config: microConfig, seed: 3 }));
  const batches = ranks.map((_, r) =>
    randomBatch(microConfig, { B: 2, T: 6, P: 2, mode: "s2s", seed: 10 + r })
  );
  assert.ok(layerRanges(models[0]) !== null);
  // each rank's own gradients
  const own = await Promise.all(models.map(async (m, r) => {
    m.zeroGrad();
    m.forwardBackward(batches[r], { dropout: false });
    return Float64Array.from(await m.backend.read(m.grads));
  }));
  const timings = await Promise.all(models.map(async (m, r) => {
    m.zeroGrad();
    const red = OverlappedReducer.create(m, ranks[r], 16)!; // tiny buckets: each layer starts its own
    const started: number[] = [];
    m.forwardBackward(batches[r], {
      dropout: false,
      onLayerGradients: (l) => {
        started.push(l);
        red.layerReady(l);
      },
    });
    red.finishBackward();
    assert.deepEqual(started, [1, 0]); // last layer first
    return await red.wait();
  }));
  for (const t of timings) assert.equal(t.bucketsDuringBackward, microConfig.numLayers);
  const expect = own[0].map((v, i) => Math.fround(v + own[1][i]));
  for (const m of models) assert.deepEqual([...(await m.backend.read(m.grads))], [...expect]);
});

Deno.test("--fp16 across ranks: an overflow on one rank skips the step on all; the scales must agree", async () => {
  // each rank's own count of non-finite gradients, summed: rank 1 alone overflows, both ranks skip
  const ranks = localRanks(2);
  const scalers = ranks.map(() => new DynamicLossScale());
  for (const own of [[0, 0], [0, 3], [0, 0]]) {
    await Promise.all(ranks.map(async (w, r) => scalers[r].update((await sumOverRanks(w, own[r])) > 0)));
  }
  for (const s of scalers) assert.deepEqual([s.scale, s.overflows, s.cleanSteps], [32768, 1, 1]);
  assert.equal(await sumOverRanks(new LocalWorld(), 2), 2);
  checkScalesAgree([65536, 65536, 65536], { epoch: 1, batch: 0 });
  assert.throws(
    () => checkScalesAgree([65536, 32768], { epoch: 2, batch: 6 }),
    /the ranks' loss scales differ at epoch 2, batch 6: 65536, 32768 by rank/,
  );
});
