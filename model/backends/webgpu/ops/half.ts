/**
 * The operations --fp16 adds on the WebGPU backend: the float16 copy of float32 values (the weights the
 * GEMMs read), the count of non-finite elements (the dynamic loss scale's overflow check) and the in-place
 * scaling that unscales the gradients.
 *
 * @module
 */
import type { Tensor } from "../../../backend.ts";
import { sameSize } from "../../../backend_contract.ts";
import { type Dispatcher, range } from "../dispatch.ts";
import { gpuTensor } from "../runtime.ts";
import { CAST_F16 } from "../kernels/cast_f16.ts";
import { NONFINITE_PARTIAL } from "../kernels/nonfinite_partial.ts";
import { REDUCE_PARTIALS } from "../kernels/reduce_partials.ts";
import { SCALE } from "../kernels/scale.ts";

/** x *= alpha, in place. */
export function scaleInPlace(d: Dispatcher, x: Tensor, alpha: number): void {
  const xs = gpuTensor(x);
  if (xs.elem !== "f32") throw new TypeError("Cannot run scaleInPlace: x must be float32");
  d.elementwise(SCALE, { x: xs }, x.size, () => ({ alpha }));
}

/** dst (float16) = src (float32), saturated at ±65504. */
export function castToF16(d: Dispatcher, src: Tensor, dst: Tensor): void {
  const n = sameSize("castToF16", src, dst);
  const s = gpuTensor(src), t = gpuTensor(dst);
  if (s.elem !== "f32" || t.elem !== "f16") {
    throw new TypeError(
      `Cannot run castToF16: src must be float32 and dst float16, got ${s.elem} and ${t.elem}`,
    );
  }
  d.elementwise(CAST_F16, { x: s, out: t }, n);
}

/** out [1] = the number of elements of x (float32) that are Inf or NaN. */
export function countNonFinite(d: Dispatcher, x: Tensor, out: Tensor): void {
  const xs = gpuTensor(x), os = gpuTensor(out);
  if (xs.elem !== "f32" || os.elem !== "f32" || out.size !== 1) {
    throw new TypeError("Cannot run countNonFinite: x must be float32 and out a float32 [1]");
  }
  const { partial, count } = d.partialSums(NONFINITE_PARTIAL, { x: xs }, x.size);
  d.rt.dispatch(
    REDUCE_PARTIALS,
    { partial: range(partial, 0, count), out: os },
    { groups: count, scale: 1 },
    1,
  );
  d.rt.free(partial);
}
