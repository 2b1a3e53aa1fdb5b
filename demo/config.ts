/**
 * The demo's settings: scene set size, model size and the training recipe of each stage. `FULL` is what
 * `deno task demo` runs; `SMOKE` is the under-a-minute version CI runs (`--smoke`).
 *
 * @module
 */

/** One training stage (the flags it passes to `deno task train`). */
export interface StageConfig {
  epochs: number;
  learningRate: number;
  batchSize: number;
  maskProb: number;
  maxPred: number;
  /** `--warmup_proportion` (the train CLI's default 0.1 when absent). */
  warmup?: number;
  /** `--sche_mode` (the train CLI's default warmup_linear when absent). */
  schedule?: "warmup_linear" | "warmup_constant" | "warmup_cosine";
}

/** Everything the demo run depends on. */
export interface DemoConfig {
  name: "full" | "smoke";
  scenes: { images: number; seed: number; questionsPerImage: number };
  /** Written as the run's `bert_config.json` (BERT names, plus `region_hidden_size`). */
  model: {
    hidden_size: number;
    num_hidden_layers: number;
    num_attention_heads: number;
    intermediate_size: number;
    region_hidden_size: number;
    hidden_dropout_prob: number;
    attention_probs_dropout_prob: number;
    initializer_range: number;
  };
  /** Masked LM with seq2seq 0.75 / bidirectional 0.25 on the training captions (VLP's CC recipe). */
  pretrain: StageConfig;
  /** Caption fine-tuning (seq2seq only) from the pre-trained weights. */
  caption: StageConfig;
  /** VQA fine-tuning (bidirectional, `--mask_prob 0 --max_pred 1`) from the pre-trained weights. */
  vqa: StageConfig;
  /** Beam width for the test captions (VLP's README: 5 on test). */
  beamSize: number;
  /**
   * OpenBLAS threads of every command (`--threads`): at this model size one thread computes about as fast
   * as two, and leaves the second core to the training loader's Worker.
   */
  threads: number;
  seed: number;
}

/** The demo: under 5 minutes on 2 CPU cores with OpenBLAS. */
export const FULL: DemoConfig = {
  name: "full",
  scenes: { images: 1000, seed: 1, questionsPerImage: 5 },
  model: {
    hidden_size: 96,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 192,
    region_hidden_size: 64,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    initializer_range: 0.1,
  },
  pretrain: { epochs: 1, learningRate: 2e-4, batchSize: 4, maskProb: 0.4, maxPred: 8 },
  caption: { epochs: 1, learningRate: 2e-4, batchSize: 8, maskProb: 0.4, maxPred: 8 },
  vqa: {
    epochs: 4,
    learningRate: 3e-4,
    batchSize: 8,
    maskProb: 0,
    maxPred: 1,
    warmup: 0.1,
    schedule: "warmup_constant",
  },
  beamSize: 5,
  threads: 1,
  seed: 42,
};

/** The CI smoke run: a small scene set and short stages (checks learning, not the targets). */
export const SMOKE: DemoConfig = {
  ...FULL,
  name: "smoke",
  scenes: { images: 200, seed: 1, questionsPerImage: 5 },
  vqa: { ...FULL.vqa, epochs: 2 },
  beamSize: 3,
};

/** Targets of the full demo on the held-out test scenes. */
export const TARGETS = { CIDEr: 1.0, vqa_accuracy: 70 } as const;
