/**
 * Mixed precision (`--fp16`, spec 8.2): the weights the GEMMs read are a float16 copy of the float32
 * master parameters, refreshed at the start of every forward; activations, gradients, the optimiser
 * (BertAdam on the masters) and checkpoints stay float32. This needs a backend that stores float16 tensors
 * (the webgpu backend on an adapter with `shader-f16`); the CPU backends compute in float32 only and
 * refuse it. The loss scale of the trainer is in train/loss_scale.ts.
 *
 * Which tensors are float16: the weight matrices of every Linear (Q/K/V, attention output, FFN in and out,
 * pooler, LM-head transform, region branches, VQA head), and the FFN's GELU output `ffnAct` [B·L, I]
 * (activations.ts), written in float16 by the FFN-in GEMM's GELU epilogue and read only by the FFN-out
 * GEMMs (forward as A, weight gradient as B; float32 accumulation). The embedding tables stay float32: they
 * are gathered, not multiplied, and the word table is also the tied LM decoder, whose gradient lands in the
 * same tensor.
 *
 * @module
 */
import type { Backend, Tensor } from "./backend.ts";
import type { VlpConfig } from "./config.ts";
import { type ModelTensors, modelTensors, type ParameterTable } from "./params.ts";

/** A backend that holds float16 tensors (the webgpu backend, with shader-f16). */
export interface HalfBackend extends Backend {
  readonly hasF16: boolean;
  /** a float16 tensor (GEMM operand B, cast target) */
  allocF16(shape: readonly number[]): Tensor;
  /** dst (float16) = src (float32) */
  castToF16(src: Tensor, dst: Tensor): void;
  /** out [1] = how many elements of x are Inf or NaN */
  countNonFinite(x: Tensor, out: Tensor): void;
  /** x *= alpha in place */
  scaleInPlace(x: Tensor, alpha: number): void;
}

/** `be` as a {@linkcode HalfBackend}, or an error saying why it cannot run `--fp16`. */
export function halfBackend(be: Backend): HalfBackend {
  const h = be as Partial<HalfBackend>;
  if (typeof h.allocF16 !== "function" || typeof h.castToF16 !== "function") {
    throw new Error(
      `Cannot run --fp16 on the ${be.name} backend: it computes in float32 only; use --backend webgpu on ` +
        "an adapter with shader-f16 (or train without --fp16)",
    );
  }
  if (!h.hasF16) {
    const name = (be as { adapterName?: string }).adapterName ?? "this adapter";
    throw new Error(`Cannot run --fp16: the WebGPU adapter ${name} lacks the shader-f16 feature`);
  }
  return be as HalfBackend;
}

/** Whether `t` is a float16 tensor (of a {@linkcode HalfBackend}). */
export function isHalfTensor(t: Tensor): boolean {
  return (t as { elem?: string }).elem === "f16";
}

/** The Linear weight matrices of a ModelTensors (the tensors --fp16 reads as float16). */
const LAYER_MATRICES = ["qkvW", "attnOutW", "ffnInW", "ffnOutW"] as const;
const MODEL_MATRICES = ["poolerW", "lmDenseW", "vis0W", "vis2W", "visPeW", "ans0W", "ans2W"] as const;

/**
 * The tensors a `--fp16` forward reads: those of `params`, with every Linear weight matrix taken from
 * `params16` (the same layout, float16) instead.
 */
export function halfModelTensors(
  be: Backend,
  table: ParameterTable,
  params: Tensor,
  params16: Tensor,
  config: VlpConfig,
): ModelTensors {
  const full = modelTensors(be, table, params, config), half = modelTensors(be, table, params16, config);
  const out: ModelTensors = { ...full, layers: full.layers.map((l) => ({ ...l })) };
  out.layers.forEach((l, i) => {
    for (const k of LAYER_MATRICES) l[k] = half.layers[i][k];
  });
  for (const k of MODEL_MATRICES) if (half[k]) out[k] = half[k];
  return out;
}
