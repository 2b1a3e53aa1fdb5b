/**
 * The ratios of one `bench/gpu_check.sh` run against the targets, side by side on the same GPU: our
 * training step (float32, `--fp16` with float32 or float16 GEMM math, and with the backward GEMMs unpaired)
 * over the original's PyTorch float32 step (`bench/gpu_anchor.py`), our FFN GEMM (float32, float16 inputs,
 * float16 math) over cuBLAS float32 at the
 * same shape, greedy and beam-5 decoding over the original decoder on the same GPU (`bench/decode_bench.ts
 * --anchor-device cuda`), and the step's dispatches from its kernel plan. A figure whose records are missing
 * is null; `meets` says, per target, whether it is met (null when not measured).
 *
 * @module
 */

/** The targets: ratios against the original on the same GPU, and the step's dispatch budget. */
export const GPU_TARGETS = {
  /** our step over the original's float32 step */
  train: 1.3,
  /** our float32 GEMM over cuBLAS float32 (TF32 off) */
  gemm: 0.85,
  /** with float16 inputs: ahead of cuBLAS float32 */
  gemmF16: 1,
  /** beam-5 decoding at batch 100 over the original decoder */
  beam5: 3,
  /** fewer dispatches per training step than this */
  dispatches: 250,
} as const;

// deno-lint-ignore no-explicit-any
type Record = any;

/** What one check's stage lines give (each its parsed JSON line, or null where the stage gave none). */
export interface CheckLines {
  plan: Record | null;
  bench: Record | null;
  anchor: Record | null;
  decode: Record | null;
}

const ratio = (ours: unknown, theirs: unknown): number | null =>
  typeof ours === "number" && typeof theirs === "number" && theirs > 0
    ? Number((ours / theirs).toFixed(3))
    : null;

/** The ratios of a check's lines, and whether each target is met. */
export function gpuRatios(l: CheckLines) {
  // a --quick bench or anchor times tiny shapes: no ratio of those is a figure of the targets
  const full = !l.bench?.quick && !l.anchor?.quick;
  const original = full ? l.anchor?.train?.examplesPerSec : undefined;
  const cublas = full ? l.anchor?.gemm_fc1?.tflops : undefined;
  const onGpu = l.decode?.original_device === "cuda";
  const r = {
    train: ratio(l.bench?.train?.examplesPerSec, original),
    trainFp16: ratio(l.bench?.trainFp16?.examplesPerSec, original),
    trainFp16HalfMath: ratio(l.bench?.trainFp16HalfMath?.examplesPerSec, original),
    trainUnpaired: ratio(l.bench?.trainUnpaired?.examplesPerSec, original),
    gemmFc1: ratio(l.bench?.gemm?.fc1?.tflops, cublas),
    gemmFc1F16: ratio(l.bench?.gemmF16?.fc1?.tflops, cublas),
    gemmFc1F16Math: ratio(l.bench?.gemmF16Math?.fc1?.tflops, cublas),
    greedy: onGpu ? l.decode?.greedy?.ratio_side_by_side ?? null : null,
    beam5: onGpu ? l.decode?.beam5?.ratio_side_by_side ?? null : null,
    // the BERT-base step's plan (a --quick plan is of the small config and says nothing of the target)
    dispatches: l.plan?.config === "bert-base" && typeof l.plan.plan?.dispatches === "number"
      ? l.plan.plan.dispatches as number
      : null,
  };
  const atLeast = (x: number | null, t: number) => (x === null ? null : x >= t);
  return {
    ...r,
    meets: {
      // float32 against float32 (the anchor has no float16 step of the original)
      train: atLeast(r.train, GPU_TARGETS.train),
      gemm: atLeast(r.gemmFc1, GPU_TARGETS.gemm),
      // --fp16's GEMM with either math (float32, or float16 with gemmHalfMath)
      gemmF16: r.gemmFc1F16 === null && r.gemmFc1F16Math === null
        ? null
        : Math.max(r.gemmFc1F16 ?? 0, r.gemmFc1F16Math ?? 0) > GPU_TARGETS.gemmF16,
      beam5: atLeast(r.beam5, GPU_TARGETS.beam5),
      dispatches: r.dispatches === null ? null : r.dispatches < GPU_TARGETS.dispatches,
    },
  };
}

/** The ratios of the four JSON lines (plan, bench, anchor, decode; "null" for a stage without one). */
export function gpuRatiosOfLines(text: string) {
  const [plan, bench, anchor, decode] = text.trim().split("\n").map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      return null;
    }
  });
  return gpuRatios({
    plan: plan ?? null,
    bench: bench ?? null,
    anchor: anchor ?? null,
    decode: decode ?? null,
  });
}
