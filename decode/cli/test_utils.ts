/**
 * Shared plumbing of the decode CLI tests (not exported by the member): the vlp-formats COCO files, a tiny
 * BERT configuration on the uncased vocabulary, and a run folder with its config and a random checkpoint.
 *
 * @module
 */
import { join } from "node:path";
import { fixturePath } from "@vlp/testing";
import { createBackend, readBertConfig, saveCheckpoint, type VlpConfig, VlpModel } from "@vlp/model";

export const COCO: string = fixturePath("fixtures/vlp-formats/COCO");
export const IMAGE_ROOT: string = join(COCO, "region_feat_gvd_wo_bgd");
export const VOCAB: string = fixturePath("data/bert-base-uncased-vocab.txt");

/** A tiny BERT config on the uncased vocabulary (the checkpoint's V must match the vocab file). */
export const TINY = {
  vocab_size: 30522,
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 64,
  hidden_act: "gelu",
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.2,
};

/** A tiny model in `dir`: `bert_config.json` and `run/model.3.bin`; the decode flags that use it. */
export async function tinyRun(dir: string): Promise<
  { configPath: string; config: VlpConfig; ckpt: string; common: string[] }
> {
  const configPath = join(dir, "bert_config.json");
  await Deno.writeTextFile(configPath, JSON.stringify(TINY));
  const config = await readBertConfig(configPath);
  const ckpt = join(dir, "run", "model.3.bin");
  await Deno.mkdir(join(dir, "run"), { recursive: true });
  await saveCheckpoint(new VlpModel({ config, backend: createBackend("reference"), seed: 7 }), ckpt);
  const common = [
    "--model_recover_path",
    ckpt,
    "--config_path",
    configPath,
    "--vocab",
    VOCAB,
    "--src_file",
    join(COCO, "dataset_coco.json"),
    "--image_root",
    IMAGE_ROOT,
  ];
  return { configPath, config, ckpt, common };
}
