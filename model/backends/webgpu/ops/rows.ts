/**
 * Row-wise operations on the WebGPU backend: column sums (bias gradients), LayerNorm and its backward,
 * masked softmax and its backward, the top-k of rows (decoding). Row kernels run one workgroup per row over parts of rows that fit a
 * binding; sums over rows are two-stage with a fixed order (`Dispatcher.columnSum`), never atomics.
 *
 * @module
 */
import {
  type Args,
  layernormBackwardDims,
  layernormDims,
  sameSize,
  softmaxDims,
  sumRowsRows,
  topkRowsDims,
} from "../../../backend_contract.ts";
import { TOPK_ROWS } from "../kernels/topk_rows.ts";
import { CHUNK_ROWS, type Dispatcher, range } from "../dispatch.ts";
import { type GpuTensor, gpuTensor } from "../runtime.ts";
import type { GradSums } from "./grad_sums.ts";
import { LAYERNORM } from "../kernels/layernorm.ts";
import { LAYERNORM_BACKWARD } from "../kernels/layernorm_backward.ts";
import { LAYERNORM_PARAMS_PARTIAL } from "../kernels/layernorm_params_partial.ts";
import { SOFTMAX } from "../kernels/softmax.ts";
import { SOFTMAX_BACKWARD } from "../kernels/softmax_backward.ts";

/** out[j] (+)= Σᵢ x[i, j]. */
export function sumRows(d: Dispatcher, { x, out, accumulate = false }: Args<"sumRows">): void {
  const rows = sumRowsRows({ x, out });
  d.columnSum("sumRows", gpuTensor(x), gpuTensor(out), rows, out.size, accumulate);
}

/** LayerNorm over the last dim: one workgroup per row. */
export function layernorm(d: Dispatcher, args: Args<"layernorm">): void {
  const { rows, c } = layernormDims(args);
  const [xs, os, ms, rs] = [args.x, args.out, args.mean, args.rstd].map((t) => gpuTensor(t));
  const w = gpuTensor(args.weight), b = gpuTensor(args.bias);
  for (const [r0, r1] of d.rowParts("layernorm", rows, c)) {
    d.rt.dispatch(
      LAYERNORM,
      {
        x: range(xs, r0 * c, r1 * c),
        weight: w,
        bias: b,
        out: range(os, r0 * c, r1 * c),
        mean: range(ms, r0, r1),
        rstd: range(rs, r0, r1),
      },
      { rows: r1 - r0, c, eps: args.eps },
      r1 - r0,
    );
  }
}

/**
 * LayerNorm backward, per part of rows: dx (one workgroup per row), then dweight and dbias as per-chunk
 * partial sums [chunks, C] each, added chunk by chunk in order (while `sums` holds: left pending there, all
 * chunks in one sequence; else two-stage beyond CHUNK_ROWS chunks).
 */
export function layernormBackward(d: Dispatcher, args: Args<"layernormBackward">, sums?: GradSums): void {
  const { rows, c } = layernormBackwardDims(args);
  if (rows === 0) return;
  const [dy, xs, ms, rs, dxs] = [args.dout, args.x, args.mean, args.rstd, args.dx].map((t) => gpuTensor(t));
  const w = gpuTensor(args.weight);
  for (const [r0, r1] of d.rowParts("layernormBackward", rows, c)) {
    const n = r1 - r0, chunks = Math.ceil(n / CHUNK_ROWS);
    const rowsOf = {
      dout: range(dy, r0 * c, r1 * c),
      x: range(xs, r0 * c, r1 * c),
      mean: range(ms, r0, r1),
      rstd: range(rs, r0, r1),
    };
    d.rt.dispatch(
      LAYERNORM_BACKWARD,
      { ...rowsOf, weight: w, dx: range(dxs, r0 * c, r1 * c) },
      { rows: n, c, accumulate: args.accumulate ? 1 : 0 },
      n,
    );
    const hw = sums?.alloc(chunks * c) ?? null, hb = hw ? sums!.alloc(chunks * c) : null;
    const pw = hw ?? d.rt.scratch(chunks * c), pb = hb ?? d.rt.scratch(chunks * c);
    d.rt.dispatch(
      LAYERNORM_PARAMS_PARTIAL,
      { ...rowsOf, partial_w: pw, partial_b: pb },
      { rows: n, c, chunk_rows: CHUNK_ROWS, chunks },
      d.groups(LAYERNORM_PARAMS_PARTIAL, chunks * c),
    );
    if (hw && hb) {
      sums!.add(hw, chunks, c, gpuTensor(args.dweight));
      sums!.add(hb, chunks, c, gpuTensor(args.dbias));
      continue;
    }
    d.columnSum("layernormBackward", pw, gpuTensor(args.dweight), chunks, c, true);
    d.columnSum("layernormBackward", pb, gpuTensor(args.dbias), chunks, c, true);
    d.rt.free(pw);
    d.rt.free(pb);
  }
}

/** out = softmax(x + mask) over Lk, the mask row shared by the heads: one workgroup per row. */
export function softmax(d: Dispatcher, args: Args<"softmax">): void {
  const { heads, lq, lk } = softmaxDims(args);
  const xs = gpuTensor(args.x), os = gpuTensor(args.out), ms = gpuTensor(args.mask);
  for (const [r0, r1] of d.rowParts("softmax", args.x.size / lk, lk)) {
    d.rt.dispatch(
      SOFTMAX,
      { x: range(xs, r0 * lk, r1 * lk), mask: ms, out: range(os, r0 * lk, r1 * lk) },
      { rows: r1 - r0, row_base: r0, heads, lq, lk },
      r1 - r0,
    );
  }
}

/** dx = p ⊙ (dp − Σ p·dp) over Lk: one workgroup per row. */
export function softmaxBackward(d: Dispatcher, { p, dp, dx }: Args<"softmaxBackward">): void {
  sameSize("softmaxBackward", p, dp, dx);
  const lk = p.shape.at(-1)!;
  const [ps, dps, dxs] = [p, dp, dx].map((t) => gpuTensor(t));
  for (const [r0, r1] of d.rowParts("softmaxBackward", p.size / lk, lk)) {
    const r = (t: GpuTensor) => range(t, r0 * lk, r1 * lk);
    d.rt.dispatch(SOFTMAX_BACKWARD, { p: r(ps), dp: r(dps), dx: r(dxs) }, { rows: r1 - r0, lk }, r1 - r0);
  }
}

/** values, indices [N, k] = the top k of each row of x [N, V] (one workgroup per row, parts of rows). */
export function topkRows(d: Dispatcher, args: Args<"topkRows">): void {
  const { rows, V, k } = topkRowsDims(args);
  const [x, values, indices] = [args.x, args.values, args.indices].map((t) => gpuTensor(t));
  const stats = args.stats ? gpuTensor(args.stats) : null;
  for (const [r0, r1] of d.rowParts("topkRows", rows, Math.max(V, k))) {
    d.rt.dispatch(
      TOPK_ROWS,
      {
        x: range(x, r0 * V, r1 * V),
        values: range(values, r0 * k, r1 * k),
        indices: range(indices, r0 * k, r1 * k),
        stats: stats ? range(stats, 2 * r0, 2 * r1) : d.rt.dummy("f32"),
      },
      { rows: r1 - r0, v: V, k, has_stats: stats ? 1 : 0 },
      r1 - r0,
    );
  }
}
