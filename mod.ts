/**
 * vlp: VLP (unified vision-language pre-training, Zhou et al., AAAI 2020) in Deno/TypeScript.
 *
 * Data flows through the members in this order:
 *
 * - `@vlp/tokenizer`: BERT WordPiece (cased and uncased), text → wordpiece ids.
 * - `@vlp/io`: the container formats (npy/npz, safe pickle, PyTorch checkpoints, HDF5, atomic writes).
 * - `@vlp/features`: VLP's region features in their on-disk layouts, the Karpathy/VQA data sets and the
 *   1607-d region geometry+class vector.
 * - `@vlp/model`: the VLP transformer (BERT-base + region embedding), forward and hand-written backward,
 *   reference / OpenBLAS / WebGPU backends, checkpoint loading.
 * - `@vlp/decode`: greedy, sampling and beam search exactly as VLP, with a key/value cache.
 * - `@vlp/train`: pre-training, caption and VQA fine-tuning, SCST, BertAdam.
 * - `@vlp/eval`: BLEU, METEOR, ROUGE-L, CIDEr-D (coco-caption) and VQA accuracy.
 * - `@vlp/onnx`: ONNX export (encoder and incremental decoder graphs) and an onnxruntime-web engine.
 * - `@vlp/command`: the command-line layer of every `deno task` command (flags, help, errors, exit statuses).
 *
 * Dependency direction: tokenizer, io, eval and command are leaves;
 * features uses io; model uses io; train and decode use model, features, io and tokenizer (and eval for
 * validation); onnx uses model and io only.
 *
 * @module
 */
export * as tokenizer from "@vlp/tokenizer";
export * as io from "@vlp/io";
export * as features from "@vlp/features";
export * as model from "@vlp/model";
export * as decode from "@vlp/decode";
export * as train from "@vlp/train";
export * as evaluation from "@vlp/eval";
export * as onnx from "@vlp/onnx";
export * as command from "@vlp/command";
