/**
 * Copies and element-wise operations on the WebGPU backend: one kernel each (kernels/elementwise.ts builds
 * them), run over binding-sized ranges of elements. Strided copies too large for one binding split their
 * outer block dimensions, then the width.
 *
 * @module
 */
import { type Args, copyStridedSpans, sameSize } from "../../../backend_contract.ts";
import type { Tensor } from "../../../backend.ts";
import { dropoutThreshold } from "../../../kernels/dropout.ts";
import { type Dispatcher, range } from "../dispatch.ts";
import { type GpuTensor, gpuTensor } from "../runtime.ts";
import { COPY_STRIDED } from "../kernels/copy_strided.ts";
import { ADD } from "../kernels/add.ts";
import { MUL } from "../kernels/mul.ts";
import { AXPY } from "../kernels/axpy.ts";
import { GELU } from "../kernels/gelu.ts";
import { GELU_WITH_GRAD } from "../kernels/gelu_with_grad.ts";
import { GELU_BACKWARD } from "../kernels/gelu_backward.ts";
import { RELU } from "../kernels/relu.ts";
import { RELU_BACKWARD } from "../kernels/relu_backward.ts";
import { TANH } from "../kernels/tanh.ts";
import { DROPOUT } from "../kernels/dropout.ts";

/** t[:] = value. */
export function fill(d: Dispatcher, t: Tensor, value: number): void {
  d.fill(gpuTensor(t), value);
}

/** dst = src: a buffer copy between different float32/int32 buffers, else the strided-copy kernel. */
export function copy(d: Dispatcher, src: Tensor, dst: Tensor): void {
  const n = sameSize("copy", src, dst);
  const s = gpuTensor(src), t = gpuTensor(dst);
  if (n === 0) return;
  if (s.storage !== t.storage && s.elem !== "f16" && t.elem !== "f16") d.rt.copyBuffer(s, t, n);
  else copyStrided(d, { src, dst, shape: [1, 1, n], srcStride: [0, 0], dstStride: [0, 0] });
}

/** Strided block copy (see `Backend.copyStrided`). */
export function copyStrided(d: Dispatcher, args: Args<"copyStrided">): void {
  const spans = copyStridedSpans(args);
  if (!spans) return;
  const { src, dst, shape, srcStride, dstStride } = args;
  const s = gpuTensor(src), t = gpuTensor(dst);
  const [n0, n1, w] = shape;
  if (spans.src > d.maxElems || spans.dst > d.maxElems) {
    // split the outer block dimensions, then the width
    if (n0 > 1 || n1 > 1) {
      const d0 = n0 > 1 ? 0 : 1, half = Math.floor(shape[d0] / 2);
      const first: [number, number, number] = [...shape], second: [number, number, number] = [...shape];
      first[d0] = half;
      second[d0] = shape[d0] - half;
      copyStrided(d, { src, dst, shape: first, srcStride, dstStride });
      copyStrided(d, {
        src: d.sub(s, half * srcStride[d0], s.size - half * srcStride[d0]),
        dst: d.sub(t, half * dstStride[d0], t.size - half * dstStride[d0]),
        shape: second,
        srcStride,
        dstStride,
      });
    } else {
      for (let o = 0; o < w; o += d.maxElems) {
        const e = Math.min(w, o + d.maxElems);
        copyStrided(d, {
          src: d.sub(s, o, e - o),
          dst: d.sub(t, o, e - o),
          shape: [1, 1, e - o],
          srcStride,
          dstStride,
        });
      }
    }
    return;
  }
  const n = n0 * n1 * w;
  d.rt.dispatch(
    COPY_STRIDED,
    { src: range(s, 0, spans.src), dst: range(t, 0, spans.dst) },
    { n, width: w, n1, ss0: srcStride[0], ss1: srcStride[1], ds0: dstStride[0], ds1: dstStride[1] },
    d.groups(COPY_STRIDED, n),
  );
}

/** out = a + b. */
export function add(d: Dispatcher, { a, b, out }: Args<"add">): void {
  const n = sameSize("add", a, b, out);
  d.elementwise(ADD, { a: gpuTensor(a), b: gpuTensor(b), out: gpuTensor(out) }, n);
}

/** out = a ⊙ b. */
export function mul(d: Dispatcher, { a, b, out }: Args<"mul">): void {
  const n = sameSize("mul", a, b, out);
  d.elementwise(MUL, { a: gpuTensor(a), b: gpuTensor(b), out: gpuTensor(out) }, n);
}

/** y += alpha·x. */
export function axpy(d: Dispatcher, { x, y, alpha }: Args<"axpy">): void {
  const n = sameSize("axpy", x, y);
  d.elementwise(AXPY, { x: gpuTensor(x), y: gpuTensor(y) }, n, () => ({ alpha }));
}

/** out = gelu(x) (and grad = gelu'(x) with `grad`: gelu_with_grad). */
export function gelu(d: Dispatcher, { x, out, grad }: Args<"gelu">): void {
  const n = sameSize("gelu", x, out, ...(grad ? [grad] : []));
  if (grad) {
    d.elementwise(GELU_WITH_GRAD, { x: gpuTensor(x), out: gpuTensor(out), grad: gpuTensor(grad) }, n);
  } else d.elementwise(GELU, { x: gpuTensor(x), out: gpuTensor(out) }, n);
}

/** dx = dout·gelu'(x). */
export function geluBackward(d: Dispatcher, { x, dout, dx }: Args<"geluBackward">): void {
  const n = sameSize("geluBackward", x, dout, dx);
  d.elementwise(GELU_BACKWARD, { x: gpuTensor(x), dout: gpuTensor(dout), dx: gpuTensor(dx) }, n);
}

/** out = max(x, 0). */
export function relu(d: Dispatcher, { x, out }: Args<"relu">): void {
  d.elementwise(RELU, { x: gpuTensor(x), out: gpuTensor(out) }, sameSize("relu", x, out));
}

/** dx = dout·[y > 0]. */
export function reluBackward(d: Dispatcher, { y, dout, dx }: Args<"reluBackward">): void {
  const n = sameSize("reluBackward", y, dout, dx);
  d.elementwise(RELU_BACKWARD, { y: gpuTensor(y), dout: gpuTensor(dout), dx: gpuTensor(dx) }, n);
}

/** out = tanh(x). */
export function tanh(d: Dispatcher, { x, out }: Args<"tanh">): void {
  d.elementwise(TANH, { x: gpuTensor(x), out: gpuTensor(out) }, sameSize("tanh", x, out));
}

/** out = x·keep/(1 − p) with the counter-based mask of kernels/dropout.ts (also the backward's). */
export function dropout(d: Dispatcher, { x, out, p, seed }: Args<"dropout">): void {
  dropoutMask(d, gpuTensor(x), gpuTensor(out), p, seed, sameSize("dropout", x, out));
}

/** dx = dout·keep/(1 − p): the forward's mask for this seed. */
export function dropoutBackward(d: Dispatcher, { dout, dx, p, seed }: Args<"dropoutBackward">): void {
  dropoutMask(d, gpuTensor(dout), gpuTensor(dx), p, seed, sameSize("dropoutBackward", dout, dx));
}

function dropoutMask(d: Dispatcher, x: GpuTensor, out: GpuTensor, p: number, seed: number, n: number): void {
  const threshold = dropoutThreshold(p), scale = 1 / (1 - p);
  d.elementwise(DROPOUT, { x, out }, n, (base) => ({ base, seed: seed >>> 0, threshold, scale }));
}
