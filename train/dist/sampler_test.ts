// The dealing of an epoch that N ranks × batch b does not divide: 3 ranks × batch 2 (in one process, over
// localRanks) against 1 process × batch 6 with 3 accumulation steps on the 25 COCO examples of vlp-formats.
import assert from "node:assert/strict";
import { loadKarpathy, loadValidJpgs } from "@vlp/features";
import { readBertConfig, VlpModel } from "@vlp/model";
import { fixturePath } from "@vlp/testing";
import { BertTokenizer } from "@vlp/tokenizer";
import { BertAdam } from "../bert_adam.ts";
import { captionExamples } from "../examples.ts";
import { BatchLoader } from "../loader.ts";
import { totalSteps } from "../schedule.ts";
import { train, type TrainResult } from "../trainer.ts";
import { localRanks } from "./test_utils.ts";
import { LocalWorld, type World } from "./world.ts";

const COCO = fixturePath("fixtures/vlp-formats/COCO");
const tokenizer = await BertTokenizer.fromFile(fixturePath("data/bert-base-uncased-vocab.txt"), {
  lowerCase: true,
});
const examples = captionExamples(await loadKarpathy(`${COCO}/dataset_coco.json`), tokenizer, {
  splits: ["train", "restval"],
  validJpgs: await loadValidJpgs(`${COCO}/coco_valid_jpgs.json`),
});
const config = await readBertConfig(new URL("../testdata/tiny_bert_config.json", import.meta.url).pathname);
const EPOCHS = 2;

/** One rank's run (or one process's): its result and its final weights. */
async function run(world: World, batchSize: number, accumulation: number, dir: string) {
  // the same seed on every rank, as the CLI gives: the dropout RNG derives from it
  const model = new VlpModel({ config, task: "img2txt", seed: 5 });
  const loader = new BatchLoader({
    examples,
    regions: { dataset: "coco", imageRoot: `${COCO}/region_feat_gvd_wo_bgd` },
    pipeline: {
      R: config.regions,
      maxLenB: 20,
      maxPred: 3,
      maskProb: 0.15,
      newSegmentIds: true,
      alwaysTruncateTail: true,
      vocabSize: config.vocabSize,
      special: { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 },
    },
    s2sProb: 0.75,
    batchSize: batchSize / accumulation,
    seed: 7,
    numWorkers: 0,
  });
  const tTotal = totalSteps(loader.batchesPerEpoch, EPOCHS, world.size * accumulation);
  const optimizer = new BertAdam(model, { lr: 1e-3, warmup: 0.1, tTotal });
  try {
    const result: TrainResult = await train({
      outputDir: dir,
      model,
      loader,
      optimizer,
      epochs: EPOCHS,
      accumulation,
      settings: {},
      progress: false,
      world,
    });
    return { result, weights: Float32Array.from(await model.backend.read(model.params)) };
  } finally {
    await loader.close();
  }
}

/** The cases: micro-batches per epoch, each rank's share of them, optimiser steps in all. */
const CASES = [
  // 13 micro-batches of 2, …, 2, 1: updates after micro-batches 3, 6, 9 and 12; the 13th (the last round,
  // with 2 ranks idle) is carried into the next epoch's first update, as in 1 process
  { batch: 2, batches: 13, own: [5, 4, 4], steps: 8 },
  // 4 micro-batches of 8, 8, 8, 1: one update per epoch, the last micro-batch (rank 0's alone) carried over
  { batch: 8, batches: 4, own: [2, 1, 1], steps: 2 },
];

for (const c of CASES) {
  Deno.test(`3 ranks × batch ${c.batch} on 25 examples (${c.batches} micro-batches; the last round leaves 2 ranks idle) = 1 process × batch ${3 * c.batch} with 3 accumulation steps; every rank takes the same optimiser steps`, async () => {
    const dirs = [
      await Deno.makeTempDir({ prefix: "vlp_deal_" }),
      await Deno.makeTempDir({ prefix: "vlp_deal_" }),
    ];
    try {
      const one = await run(new LocalWorld(), 3 * c.batch, 3, dirs[0]);
      const ranks = await Promise.all(localRanks(3).map((w) => run(w, c.batch, 1, dirs[1])));
      assert.equal(one.result.optimizerSteps, c.steps);
      for (const [r, { result }] of ranks.entries()) {
        assert.equal(result.optimizerSteps, c.steps, `rank ${r}`);
        assert.deepEqual(result.epochs.map((e) => [e.batches, e.examples]), [[c.batches, 25], [
          c.batches,
          25,
        ]]);
        // rank r computed micro-batches r, r + 3, …, none twice and none padded in
        assert.deepEqual(result.epochs.map((e) => e.ownBatches), [c.own[r], c.own[r]], `rank ${r}`);
        // every rank logs every micro-batch's loss (gathered each round)
        assert.deepEqual(result.epochs.map((e) => e.meanLoss), ranks[0].result.epochs.map((e) => e.meanLoss));
      }
      // the ranks hold bitwise the same weights (the same sums), within float32 summation order of 1 process's
      for (const { weights } of ranks.slice(1)) assert.deepEqual(weights, ranks[0].weights);
      let d = 0;
      for (let i = 0; i < one.weights.length; i++) {
        d = Math.max(d, Math.abs(one.weights[i] - ranks[0].weights[i]));
      }
      assert.ok(d < 1e-5, `max |Δw| ${d}`);
      for (const [i, e] of one.result.epochs.entries()) {
        const m = ranks[0].result.epochs[i].meanLoss;
        assert.ok(
          Math.abs(m - e.meanLoss) <= 1e-5 * Math.abs(e.meanLoss),
          `epoch ${i + 1}: ${m} vs ${e.meanLoss}`,
        );
      }
    } finally {
      for (const d of dirs) await Deno.remove(d, { recursive: true });
    }
  });
}
