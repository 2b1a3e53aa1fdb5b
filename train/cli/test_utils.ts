/**
 * Shared plumbing of the CLI tests (not exported by the member): the flags of a tiny model on the shared
 * fixture data, the training log; running a CLI as a subprocess comes from `@vlp/testing`.
 *
 * @module
 */
import { join } from "node:path";
import { fixturePath, type Json } from "@vlp/testing";
import { type Imdb, loadVqaImdb, vqaFeatureId } from "@vlp/features";
import { writeSyntheticRegions } from "../synthetic.ts";

/** The vlp-formats COCO files. */
export const COCO = fixturePath("fixtures/vlp-formats/COCO");

/** The model flags of a tiny BERT (C 32, 2 layers) with the uncased vocabulary. */
export const TINY_MODEL_FLAGS: string[] = [
  "--vocab",
  fixturePath("data/bert-base-uncased-vocab.txt"),
  "--do_lower_case",
  "--config_path",
  new URL("../testdata/tiny_bert_config.json", import.meta.url).pathname,
  "--enable_butd",
];

/** The data flags of a captioning run on the vlp-formats COCO files. */
export const COCO_FLAGS: string[] = [
  "--src_file",
  `${COCO}/dataset_coco.json`,
  "--file_valid_jpgs",
  `${COCO}/coco_valid_jpgs.json`,
  "--image_root",
  `${COCO}/region_feat_gvd_wo_bgd`,
  "--new_segment_ids",
  "--always_truncate_tail",
];

/** The records of a run's train_log.jsonl. */
export async function readTrainLog(dir: string): Promise<Json[]> {
  return (await Deno.readTextFile(join(dir, "train_log.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
}

/** The vlp-formats VQA imdb (val2014 questions with answers). */
export const VQA_IMDB = fixturePath("fixtures/vlp-formats/vqa/imdb_val2014.npy");

/** The VQA imdb, with synthetic COCO region files of its images written under `root`. */
export async function vqaImdbWithRegions(root: string): Promise<{ imdb: Imdb; imageIds: string[] }> {
  const imdb = await loadVqaImdb(VQA_IMDB);
  const imageIds = [...new Set(imdb.questions.map(vqaFeatureId))];
  await writeSyntheticRegions(imageIds, { dataset: "coco", imageRoot: root });
  return { imdb, imageIds };
}
