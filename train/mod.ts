/**
 * @vlp/train: VLP's example pipeline, BertAdam, the training loop (pre-training, caption and VQA fine-tuning,
 * SCST), resumable checkpoints, and VQA evaluation.
 *
 * See train/README.md for the CLIs (`deno task train`, `deno task eval-vqa2`) and an end-to-end example.
 *
 * @module
 */
export * from "./schedule.ts";
export * from "./bert_adam.ts";
export * from "./pipeline.ts";
