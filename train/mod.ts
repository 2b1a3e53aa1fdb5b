/**
 * @vlp/train: VLP's example pipeline, BertAdam, the training loop (pre-training, caption and VQA fine-tuning,
 * SCST), resumable checkpoints, validation and VQA inference, data parallelism on Open MPI (`dist/`).
 *
 * See train/README.md for the CLIs (`deno task train`, `deno task eval-vqa2`) and an end-to-end example.
 *
 * @module
 */
export * from "./schedule.ts";
export * from "./bert_adam.ts";
export * from "./pipeline.ts";
export * from "./examples.ts";
export * from "./batch_builder.ts";
export * from "./loader.ts";
export * from "./run_state.ts";
export * from "./trainer.ts";
export * from "./output_folder.ts";
export * from "./loss_scale.ts";
export * from "./scst.ts";
export * from "./validation.ts";
export * from "./progress.ts";
export * from "./plot.ts";
export * from "./synthetic.ts";
export { LocalWorld, MpiWorld, openWorld, underMpirun, type World } from "./dist/world.ts";
export { Mpi, MPI_THREAD, MpiError } from "./dist/mpi.ts";
export {
  allreduceGradients,
  broadcastParameters,
  BUCKET_ELEMENTS,
  checkWeightsAgree,
  gatherRows,
  rankBatches,
  WeightsDivergedError,
} from "./dist/data_parallel.ts";
export { OverlappedReducer, type ReduceTiming } from "./dist/overlap.ts";
export { runOnEveryRank } from "./dist/run_ranks.ts";
