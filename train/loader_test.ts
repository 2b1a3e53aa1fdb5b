import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { loadKarpathy, loadValidJpgs, RegionReader } from "@vlp/features";
import { BertTokenizer } from "@vlp/tokenizer";
import { captionExamples, exampleCount, exampleTokens } from "./examples.ts";
import { BatchLoader, epochOrder, type LoaderOptions } from "./loader.ts";
import type { HostBatch } from "./batch_builder.ts";

const COCO = fixturePath("fixtures/vlp-formats/COCO");
const IMAGE_ROOT = `${COCO}/region_feat_gvd_wo_bgd`;
const tokenizer = await BertTokenizer.fromFile(fixturePath("data/bert-base-uncased-vocab.txt"), {
  lowerCase: true,
});
const karpathy = await loadKarpathy(`${COCO}/dataset_coco.json`);
const valid = await loadValidJpgs(`${COCO}/coco_valid_jpgs.json`);
const examples = captionExamples(karpathy, tokenizer, { splits: ["train", "restval"], validJpgs: valid });

function options(over: Partial<LoaderOptions> = {}): LoaderOptions {
  return {
    examples,
    regions: { dataset: "coco", imageRoot: IMAGE_ROOT },
    pipeline: {
      R: 100,
      maxLenB: 20,
      maxPred: 3,
      maskProb: 0.15,
      newSegmentIds: true,
      alwaysTruncateTail: true,
      vocabSize: tokenizer.vocab.size,
      special: { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 },
    },
    s2sProb: 0.75,
    batchSize: 4,
    seed: 42,
    numWorkers: 0,
    ...over,
  };
}

async function collect(loader: BatchLoader, epoch: number, from = 0): Promise<HostBatch[]> {
  const out: HostBatch[] = [];
  for await (const b of loader.epoch(epoch, from)) out.push(b);
  return out;
}

Deno.test("captionExamples(): one example per caption of the valid train/restval images, tokenized", () => {
  // 6 train/restval images, one of them missing from valid-jpgs: 5 images × 5 captions
  assert.equal(exampleCount(examples), 25);
  assert.equal(examples.imageIds.length, 5);
  assert.ok(!examples.imageIds.includes("COCO_val2014_000000174482"));
  const first = karpathy.images[0];
  assert.deepEqual([...exampleTokens(examples, 0)], tokenizer.encodeIds(first.sentences[0].raw));
  assert.equal(examples.imageDirs[0], "train2014");
  const limited = captionExamples(karpathy, tokenizer, { splits: ["train"], validJpgs: null, useNumImgs: 2 });
  assert.equal(exampleCount(limited), 10);
});

Deno.test("epochOrder(): a permutation per epoch, reproducible, different between epochs", () => {
  const a = epochOrder(25, 42, 1), b = epochOrder(25, 42, 1), c = epochOrder(25, 42, 2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 25 }, (_, i) => i));
});

Deno.test("BatchLoader: the original's batches per epoch, features as the region reader loads them", async () => {
  const loader = new BatchLoader(options());
  assert.equal(loader.batchesPerEpoch, 7); // ⌈25 / 4⌉, the last batch has 1 example
  const batches = await collect(loader, 1);
  assert.equal(batches.length, 7);
  assert.equal(batches[6].examples.length, 1);
  const seen = batches.flatMap((b) => [...b.examples]).sort((x, y) => x - y);
  assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => i));
  const reader = RegionReader.open({ dataset: "coco", imageRoot: IMAGE_ROOT });
  const b0 = batches[0], ex = b0.examples[0];
  const { feats, visPe } = await reader.load(examples.imageIds[examples.exampleImage[ex]]);
  reader.close();
  assert.deepEqual(b0.regionFeats.subarray(0, feats.length), feats);
  assert.deepEqual(b0.visPe.subarray(0, visPe.length), visPe);
  assert.equal(b0.inputIds.length, 4 * 123);
  assert.equal(b0.attentionMask.length, 4 * 123 * 123);
  assert.equal(b0.maskedPos!.length, 4 * 3);
  // both attention modes occur with s2s_prob 0.75
  const s2s = batches.reduce((s, b) => s + b.s2s.reduce((x, y) => x + y, 0), 0);
  assert.ok(s2s > 5 && s2s < 25, `s2s examples: ${s2s}`);
  await loader.close();
});

Deno.test("BatchLoader: Workers build exactly the batches of the main thread; resuming mid-epoch too", async () => {
  const inline = new BatchLoader(options());
  const workers = new BatchLoader(options({ numWorkers: 2, prefetch: 3 }));
  const a = await collect(inline, 3), b = await collect(workers, 3);
  assert.deepEqual(b, a);
  const resumed = await collect(workers, 3, 4);
  assert.deepEqual(resumed, a.slice(4));
  const other = await collect(inline, 4);
  assert.notDeepEqual(other[0].inputIds, a[0].inputIds);
  await inline.close();
  await workers.close();
});

Deno.test("BatchLoader: a missing feature file fails the batch with the image named", async () => {
  for (const numWorkers of [0, 1]) {
    const loader = new BatchLoader(
      options({ regions: { dataset: "coco", imageRoot: "/nonexistent" }, numWorkers }),
    );
    await assert.rejects(() => collect(loader, 1), /nonexistent/);
    await loader.close();
  }
});
