/**
 * The fused operations of the WebGPU backend ({@linkcode FusedOps} of backend.ts): the embedding layer (sum,
 * LayerNorm, dropout) and its backward, an output block's dropout + residual + LayerNorm epilogue and its
 * backward (with the Linear's bias gradient), the attention's softmax + dropout and its backward, one
 * attention kernel each way for L ≤ 128, the FFN-in and masked-LM Linears with their GELU and the region
 * branches' with their ReLU (GEMM epilogues, ops/matmul.ts), the column-sum kernels (GELU backward, ReLU +
 * dropout backward, a Linear's bias gradient), a Linear's two backward products in one dispatch
 * (`matmulPair`), the gather backward written, and the held-back gradient sums (ops/grad_sums.ts). Each
 * replaces the list of backend calls its interface names (the reference twin, fused_test.ts, layers_test.ts,
 * matmul_pair_test.ts, grad_sums_test.ts).
 *
 * @module
 */
import type { FusedOps, Tensor } from "../../../backend.ts";
import {
  embeddingDims,
  layernormDims,
  sameSize,
  scatterAddRowsDims,
  softmaxDims,
} from "../../../backend_contract.ts";
import { dropoutThreshold } from "../../../kernels/dropout.ts";
import { CHUNK_ROWS, type Dispatcher, range } from "../dispatch.ts";
import { GpuTensor, gpuTensor } from "../runtime.ts";
import { type GemmOptions, matmul, matmulGelu, matmulPair, matmulRelu } from "./matmul.ts";
import { GradSums } from "./grad_sums.ts";
import { SUM_ROWS_PARTIAL } from "../kernels/sum_rows_partial.ts";
import { RESIDUAL_LAYERNORM } from "../kernels/residual_layernorm.ts";
import { EMBEDDING_LAYERNORM } from "../kernels/embedding_layernorm.ts";
import { RESIDUAL_LAYERNORM_BACKWARD } from "../kernels/residual_layernorm_backward.ts";
import { RESIDUAL_LAYERNORM_PARAMS_PARTIAL } from "../kernels/residual_layernorm_params_partial.ts";
import {
  RESIDUAL_LAYERNORM_BACKWARD_CHUNK,
  RLN_CHUNK_MAX_C,
  RLN_CHUNK_ROWS,
} from "../kernels/residual_layernorm_backward_chunk.ts";
import { SUM_CHUNKS3 } from "../kernels/sum_chunks3.ts";
import { SUM_CHUNKS } from "../kernels/sum_chunks.ts";
import { MUL_COLUMN_PARTIAL } from "../kernels/mul_column_partial.ts";
import { RELU_BACKWARD_COLUMN_PARTIAL } from "../kernels/relu_backward_column_partial.ts";
import { SCATTER_ROWS } from "../kernels/scatter_rows.ts";
import { fill } from "./elementwise.ts";
import { embeddingTablesBackward, scatterAddRows } from "./embedding.ts";
import { EMBEDDING_LAYERNORM_BACKWARD_CHUNK } from "../kernels/embedding_layernorm_backward_chunk.ts";
import { SOFTMAX_DROPOUT } from "../kernels/softmax_dropout.ts";
import { SOFTMAX_DROPOUT_BACKWARD } from "../kernels/softmax_dropout_backward.ts";
import { ATTENTION_BACKWARD } from "../kernels/attention_backward.ts";
import {
  ATTENTION_FORWARD,
  ATTENTION_MAX_HS,
  ATTENTION_MAX_L,
  ATTENTION_QB,
} from "../kernels/attention_forward.ts";

/** The mask uniforms of a dropout site (none: keep everything, scale 1). */
function maskUniforms(
  drop: { p: number; seed: number } | null,
): { seed: number; threshold: number; scale: number } {
  if (!drop) return { seed: 0, threshold: 0, scale: 1 };
  return { seed: drop.seed >>> 0, threshold: dropoutThreshold(drop.p), scale: 1 / (1 - drop.p) };
}

/** {@linkcode FusedOps} on a dispatcher. */
export class GpuFusedOps implements FusedOps {
  /**
   * The epilogue backward as residual_layernorm_backward_chunk (two dispatches) where C allows; false:
   * the three-kernel path (row kernel, chunk partials, sum), kept as its twin.
   */
  chunkedEpilogueBackward = true;
  /** The parameter-gradient sums held back between holdGradientSums and finishGradientSums. */
  readonly sums: GradSums;
  constructor(readonly d: Dispatcher, readonly gemm: GemmOptions = {}) {
    this.sums = new GradSums(d);
  }

  holdGradientSums(): void {
    this.sums.hold();
  }

  finishGradientSums(): void {
    this.sums.finish();
  }

  linearBackward(a: Parameters<FusedOps["linearBackward"]>[0]): void {
    const [n, k] = a.dw.shape;
    const m = a.x.size / k;
    if (a.dy.size !== m * n || a.w.size !== n * k || (a.dx && a.dx.size !== m * k)) {
      throw new TypeError(
        `Cannot run linearBackward: dy of ${a.dy.size} elements, w of ${a.w.size} and dx of ` +
          `${a.dx?.size ?? 0} for x of ${m} rows and dw [${n}, ${k}]`,
      );
    }
    const dw = { a: a.dy, b: a.x, c: a.dw, m: n, n: k, k: m, transA: true, beta: 1 };
    if (a.dx) {
      const dx = { a: a.dy, b: a.w, c: a.dx, m, n: k, k: n, beta: a.accumulateDx ? 1 : 0 };
      matmulPair(this.d, this.gemm, dx, dw, this.sums);
    } else matmul(this.d, this.gemm, dw, this.sums);
    if (a.db) {
      sameSize("linearBackward", a.db, this.d.sub(gpuTensor(a.dw), 0, n));
      this.#columnSum("linearBackward", gpuTensor(a.dy), gpuTensor(a.db), m, n);
    }
  }

  /**
   * out[j] += Σ_r x[r, j]: the two-stage column sum of the dispatcher, its second stage held back while
   * sums are held (more than CHUNK_ROWS rows in one binding); else at once.
   */
  #columnSum(op: string, x: GpuTensor, out: GpuTensor, rows: number, n: number): void {
    const chunks = Math.ceil(rows / CHUNK_ROWS);
    const partial = rows > CHUNK_ROWS && rows * n <= this.d.maxElems ? this.sums.alloc(chunks * n) : null;
    if (!partial) return this.d.columnSum(op, x, out, rows, n, true);
    this.d.rt.dispatch(
      SUM_ROWS_PARTIAL,
      { x: range(x, 0, rows * n), partial },
      { rows, n, chunk_rows: CHUNK_ROWS, chunks },
      this.d.groups(SUM_ROWS_PARTIAL, chunks * n),
    );
    this.sums.add(partial, chunks, n, out);
  }

  linearGelu(a: Parameters<FusedOps["linearGelu"]>[0]): boolean {
    const [n, k] = a.w.shape;
    sameSize("linearGelu", a.pre, a.out, ...(a.grad ? [a.grad] : []));
    const args = { a: a.x, b: a.w, c: a.out, m: a.x.size / k, n, k, transB: true, bias: a.bias };
    return matmulGelu(this.d, this.gemm, args, a.grad ? gpuTensor(a.grad) : null);
  }

  linearRelu(a: Parameters<FusedOps["linearRelu"]>[0]): boolean {
    const [n, k] = a.w.shape;
    sameSize("linearRelu", a.pre, a.out);
    return matmulRelu(this.d, this.gemm, {
      a: a.x,
      b: a.w,
      c: a.out,
      m: a.x.size / k,
      n,
      k,
      transB: true,
      bias: a.bias,
    });
  }

  embeddingLayernorm(a: Parameters<FusedOps["embeddingLayernorm"]>[0]): void {
    const e = a.emb;
    const { L, C, R } = embeddingDims(e);
    const { rows, c } = layernormDims({
      x: e.out,
      weight: a.weight,
      bias: a.bias,
      out: a.ln,
      mean: a.mean,
      rstd: a.rstd,
      eps: a.eps,
    });
    sameSize("embeddingLayernorm", e.out, a.ln, a.out);
    if (c !== C) throw new TypeError(`Cannot run embeddingLayernorm: LayerNorm width ${c}, embeddings ${C}`);
    const [emb, ln, out, mean, rstd] = [e.out, a.ln, a.out, a.mean, a.rstd].map((t) => gpuTensor(t));
    const dummy = this.d.rt.dummy("f32");
    const mask = maskUniforms(a.dropout);
    for (const [r0, r1] of this.d.rowParts("embeddingLayernorm", rows, c)) {
      const part = (t: GpuTensor) => range(t, r0 * c, r1 * c);
      this.d.rt.dispatch(
        EMBEDDING_LAYERNORM,
        {
          ids: gpuTensor(e.ids),
          seg: gpuTensor(e.segmentIds),
          position_ids: e.positionIds ? gpuTensor(e.positionIds) : this.d.rt.dummy("i32"),
          wte: gpuTensor(e.wte),
          wpe: gpuTensor(e.wpe),
          wtt: gpuTensor(e.wtt),
          regions: e.regions ? gpuTensor(e.regions) : dummy,
          region_pos: e.regionPos ? gpuTensor(e.regionPos) : dummy,
          weight: gpuTensor(a.weight),
          bias: gpuTensor(a.bias),
          emb: part(emb),
          ln: part(ln),
          out: a.dropout ? part(out) : dummy,
          mean: range(mean, r0, r1),
          rstd: range(rstd, r0, r1),
        },
        {
          rows: r1 - r0,
          row_base: r0,
          l: L,
          c,
          r: R,
          pos_offset: e.posOffset,
          has_pos_ids: e.positionIds ? 1 : 0,
          nvocab: e.wte.size / c,
          npos: e.wpe.size / c,
          ntype: e.wtt.size / c,
          eps: a.eps,
          has_drop: a.dropout ? 1 : 0,
          ...mask,
        },
        r1 - r0,
        "token id, segment id or position",
      );
    }
  }

  embeddingLayernormBackward(a: Parameters<FusedOps["embeddingLayernormBackward"]>[0]): void {
    const c = a.weight.size, rows = a.mean.size;
    sameSize("embeddingLayernormBackward", a.dout, a.emb, a.demb);
    sameSize("embeddingLayernormBackward", a.weight, a.dweight, a.dbias);
    const t = a.tables;
    const [B, L] = t.ids.shape;
    const R = t.dregions ? t.dregions.shape[1] : 0;
    if (a.emb.size !== rows * c || a.rstd.size !== rows || B * L !== rows || c > RLN_CHUNK_MAX_C) {
      throw new TypeError(
        `Cannot run embeddingLayernormBackward: emb of ${a.emb.size} elements, C ${c} (at most ` +
          `${RLN_CHUNK_MAX_C}), ${rows} rows for ids [${B}, ${L}]`,
      );
    }
    if (R > 0 && (!t.dregionPos || t.dregions!.size !== B * R * c || t.dregionPos.size !== B * R * c)) {
      throw new TypeError("Cannot run embeddingLayernormBackward: dregions and dregionPos must be [B, R, C]");
    }
    const [dout, emb, mean, rstd, demb] = [a.dout, a.emb, a.mean, a.rstd, a.demb].map((x) => gpuTensor(x));
    const dummy = this.d.rt.dummy("f32");
    const mask = maskUniforms(a.dropout);
    for (const [r0, r1] of this.d.rowParts("embeddingLayernormBackward", rows, c)) {
      const n = r1 - r0, chunks = Math.ceil(n / RLN_CHUNK_ROWS);
      const part = (x: GpuTensor) => range(x, r0 * c, r1 * c);
      const held = this.sums.alloc(2 * chunks * c);
      const partial = held ?? this.d.rt.scratch(2 * chunks * c);
      this.d.rt.dispatch(
        EMBEDDING_LAYERNORM_BACKWARD_CHUNK,
        {
          dout: part(dout),
          x: part(emb),
          mean: range(mean, r0, r1),
          rstd: range(rstd, r0, r1),
          weight: gpuTensor(a.weight),
          demb: part(demb),
          dregions: R > 0 ? gpuTensor(t.dregions!) : dummy,
          dregion_pos: R > 0 ? gpuTensor(t.dregionPos!) : dummy,
          partial,
        },
        {
          rows: n,
          row_base: r0,
          c,
          l: L,
          r: R,
          chunk_rows: RLN_CHUNK_ROWS,
          chunks,
          has_drop: a.dropout ? 1 : 0,
          ...mask,
        },
        chunks,
      );
      [a.dweight, a.dbias].forEach((g, i) => {
        const plane = this.d.sub(partial, i * chunks * c, chunks * c);
        if (held) this.sums.add(plane, chunks, c, gpuTensor(g));
        else {
          this.d.rt.dispatch(
            SUM_CHUNKS,
            { partial: plane, out: gpuTensor(g) },
            { n: c, chunks },
            this.d.groups(SUM_CHUNKS, c),
          );
        }
      });
      if (!held) this.d.rt.free(partial);
    }
    // the tables from demb (the region slots' gradients are written above; R still marks their slots)
    const demb3 = new GpuTensor(demb.storage, demb.offset, [B, L, c], "float", "f32", true);
    embeddingTablesBackward(this.d, { ...t, dout: demb3 });
  }

  residualLayernorm(a: Parameters<FusedOps["residualLayernorm"]>[0]): void {
    const { rows, c } = layernormDims({
      x: a.res,
      weight: a.weight,
      bias: a.bias,
      out: a.out,
      mean: a.mean,
      rstd: a.rstd,
      eps: a.eps,
    });
    sameSize("residualLayernorm", a.proj, a.resid, a.res, a.out);
    const [proj, resid, res, out, mean, rstd] = [a.proj, a.resid, a.res, a.out, a.mean, a.rstd].map((t) =>
      gpuTensor(t)
    );
    const mask = maskUniforms(a.dropout);
    for (const [r0, r1] of this.d.rowParts("residualLayernorm", rows, c)) {
      const part = (t: typeof proj) => range(t, r0 * c, r1 * c);
      this.d.rt.dispatch(
        RESIDUAL_LAYERNORM,
        {
          proj: part(proj),
          resid: part(resid),
          weight: gpuTensor(a.weight),
          bias: gpuTensor(a.bias),
          res: part(res),
          out: part(out),
          mean: range(mean, r0, r1),
          rstd: range(rstd, r0, r1),
        },
        { rows: r1 - r0, c, eps: a.eps, base: r0 * c, ...mask },
        r1 - r0,
      );
    }
  }

  residualLayernormBackward(a: Parameters<FusedOps["residualLayernormBackward"]>[0]): void {
    const c = a.weight.size, rows = a.mean.size;
    sameSize("residualLayernormBackward", a.dout, a.res, a.dres, a.dproj);
    if (a.res.size !== rows * c || a.rstd.size !== rows) {
      throw new TypeError(
        `Cannot run residualLayernormBackward: res of ${a.res.size} elements, C ${c}, ${rows} rows`,
      );
    }
    sameSize("residualLayernormBackward", a.weight, a.dweight, a.dbias, a.dprojBias);
    if (rows === 0) return;
    const [dout, res, mean, rstd, dres, dproj] = [a.dout, a.res, a.mean, a.rstd, a.dres, a.dproj].map((t) =>
      gpuTensor(t)
    );
    const mask = maskUniforms(a.dropout);
    for (const [r0, r1] of this.d.rowParts("residualLayernormBackward", rows, c)) {
      const n = r1 - r0;
      const part = (t: typeof dout) => range(t, r0 * c, r1 * c);
      const rowsOf = {
        dout: part(dout),
        res: part(res),
        mean: range(mean, r0, r1),
        rstd: range(rstd, r0, r1),
      };
      const outs = { weight: gpuTensor(a.weight), dres: part(dres), dproj: part(dproj) };
      let partial, chunks, held;
      if (c <= RLN_CHUNK_MAX_C && this.chunkedEpilogueBackward) {
        // the row gradients and the chunk sums of the parameter gradients in one pass
        chunks = Math.ceil(n / RLN_CHUNK_ROWS);
        held = this.sums.alloc(3 * chunks * c);
        partial = held ?? this.d.rt.scratch(3 * chunks * c);
        this.d.rt.dispatch(
          RESIDUAL_LAYERNORM_BACKWARD_CHUNK,
          { ...rowsOf, ...outs, partial },
          { rows: n, c, chunk_rows: RLN_CHUNK_ROWS, chunks, base: r0 * c, ...mask },
          chunks,
        );
      } else {
        chunks = Math.ceil(n / CHUNK_ROWS);
        this.d.rt.dispatch(RESIDUAL_LAYERNORM_BACKWARD, { ...rowsOf, ...outs }, {
          rows: n,
          c,
          base: r0 * c,
          ...mask,
        }, n);
        held = this.sums.alloc(3 * chunks * c);
        partial = held ?? this.d.rt.scratch(3 * chunks * c);
        this.d.rt.dispatch(
          RESIDUAL_LAYERNORM_PARAMS_PARTIAL,
          { ...rowsOf, dproj: part(dproj), partial },
          { rows: n, c, chunk_rows: CHUNK_ROWS, chunks },
          this.d.groups(RESIDUAL_LAYERNORM_PARAMS_PARTIAL, chunks * c),
        );
      }
      if (held) {
        // the three planes' sums held back (added by finishGradientSums)
        [a.dweight, a.dbias, a.dprojBias].forEach((t, i) =>
          this.sums.add(this.d.sub(held, i * chunks! * c, chunks! * c), chunks!, c, gpuTensor(t))
        );
        continue;
      }
      this.d.rt.dispatch(
        SUM_CHUNKS3,
        { partial, out0: gpuTensor(a.dweight), out1: gpuTensor(a.dbias), out2: gpuTensor(a.dprojBias) },
        { c, chunks },
        this.d.groups(SUM_CHUNKS3, 3 * c),
      );
      this.d.rt.free(partial);
    }
  }

  attentionForward(a: Parameters<FusedOps["attentionForward"]>[0]): boolean {
    const { S, L, NH, HS } = a.dims;
    const C = NH * HS;
    if (L > ATTENTION_MAX_L || HS > ATTENTION_MAX_HS || L === 0) return false;
    if (a.qkv.size !== S * L * 3 * C || a.ctx.size !== S * L * C || a.mask.size !== S * L * L) {
      throw new TypeError(
        `Cannot run attentionForward: qkv ${a.qkv.size}, ctx ${a.ctx.size}, mask ${a.mask.size} elements ` +
          `for S ${S}, L ${L}, NH ${NH}, HS ${HS}`,
      );
    }
    sameSize("attentionForward", a.probs, a.probsD);
    if (a.probs.size !== S * NH * L * L) {
      throw new TypeError("Cannot run attentionForward: probs is not [S, NH, L, L]");
    }
    const max = this.d.maxElems;
    if ([a.qkv, a.probs, a.ctx, a.mask].some((t) => t.size > max)) return false; // the unfused path splits
    const mask = maskUniforms(a.dropout);
    const groups = S * NH * Math.ceil(L / ATTENTION_QB);
    this.d.rt.dispatch(
      ATTENTION_FORWARD,
      {
        qkv: gpuTensor(a.qkv),
        mask: gpuTensor(a.mask),
        probs: gpuTensor(a.probs),
        dropped: gpuTensor(a.dropout ? a.probsD : a.probs),
        ctx: gpuTensor(a.ctx),
      },
      {
        groups,
        l: L,
        nh: NH,
        hs: HS,
        scale: 1 / Math.sqrt(HS),
        has_drop: a.dropout ? 1 : 0,
        seed: mask.seed,
        threshold: mask.threshold,
        pscale: mask.scale,
      },
      groups,
    );
    return true;
  }

  attentionBackward(a: Parameters<FusedOps["attentionBackward"]>[0]): boolean {
    const { S, L, NH, HS } = a.dims;
    const C = NH * HS;
    if (L > ATTENTION_MAX_L || HS > ATTENTION_MAX_HS || L === 0) return false;
    sameSize("attentionBackward", a.qkv, a.dqkv);
    if (a.qkv.size !== S * L * 3 * C || a.dctx.size !== S * L * C || a.probs.size !== S * NH * L * L) {
      throw new TypeError(
        `Cannot run attentionBackward: qkv ${a.qkv.size}, dctx ${a.dctx.size}, probs ${a.probs.size} elements ` +
          `for S ${S}, L ${L}, NH ${NH}, HS ${HS}`,
      );
    }
    if ([a.qkv, a.probs, a.dctx].some((t) => t.size > this.d.maxElems)) return false;
    if (a.dbias && a.dbias.size !== 3 * C) {
      throw new TypeError("Cannot run attentionBackward: dbias is not [3C]");
    }
    const mask = maskUniforms(a.dropout);
    // the per-sequence sums held back when there are at most CHUNK_ROWS of them (one stage, as columnSum)
    const held = a.dbias && S <= CHUNK_ROWS ? this.sums.alloc(S * 3 * C) : null;
    const partial = held ?? (a.dbias ? this.d.rt.scratch(S * 3 * C) : this.d.rt.dummy("f32"));
    this.d.rt.dispatch(
      ATTENTION_BACKWARD,
      {
        qkv: gpuTensor(a.qkv),
        probs: gpuTensor(a.probs),
        dctx: gpuTensor(a.dctx),
        dqkv: gpuTensor(a.dqkv),
        bias_partial: partial,
      },
      {
        groups: S * NH,
        l: L,
        nh: NH,
        hs: HS,
        scale: 1 / Math.sqrt(HS),
        seed: mask.seed,
        threshold: mask.threshold,
        pscale: mask.scale,
        has_bias: a.dbias ? 1 : 0,
      },
      S * NH,
    );
    if (held) this.sums.add(held, S, 3 * C, gpuTensor(a.dbias!));
    else if (a.dbias) {
      // the S per-sequence sums, in order
      this.d.columnSum("attentionBackward", partial, gpuTensor(a.dbias), S, 3 * C, true);
      this.d.rt.free(partial);
    }
    return true;
  }

  mulColumnSum(a: Parameters<FusedOps["mulColumnSum"]>[0]): void {
    const total = sameSize("mulColumnSum", a.a, a.b, a.out);
    const [as, bs, os] = [a.a, a.b, a.out].map((t) => gpuTensor(t));
    this.#columnPartial("mulColumnSum", MUL_COLUMN_PARTIAL, total, gpuTensor(a.dsum), (part) => ({
      binds: { a: part(as), b: part(bs), out: part(os) },
      uniforms: {},
    }));
  }

  scatterRows(a: Parameters<FusedOps["scatterRows"]>[0]): void {
    const { bx, d: width } = scatterAddRowsDims(a);
    const n = a.dx.size;
    if (n > this.d.maxElems || a.dout.size > this.d.maxElems) {
      // too large for one binding: the twin's calls (which split)
      fill(this.d, a.dx, 0);
      return scatterAddRows(this.d, a);
    }
    this.d.rt.dispatch(
      SCATTER_ROWS,
      { dout: gpuTensor(a.dout), index: gpuTensor(a.index), dx: gpuTensor(a.dx) },
      { n, d: width, p: a.index.size / bx, m: n / (bx * width) },
      this.d.groups(SCATTER_ROWS, n),
      "row index",
    );
  }

  reluBackwardColumnSum(a: Parameters<FusedOps["reluBackwardColumnSum"]>[0]): void {
    const total = sameSize("reluBackwardColumnSum", a.y, a.dout, a.dx);
    const [ys, ds, xs] = [a.y, a.dout, a.dx].map((t) => gpuTensor(t));
    const mask = maskUniforms(a.dropout);
    this.#columnPartial(
      "reluBackwardColumnSum",
      RELU_BACKWARD_COLUMN_PARTIAL,
      total,
      gpuTensor(a.dsum),
      (part, r0, n) => ({
        binds: { y: part(ys), dout: part(ds), dx: part(xs) },
        uniforms: { has_drop: a.dropout ? 1 : 0, base: r0 * n, ...mask },
      }),
    );
  }

  /**
   * A row-wise kernel over [total / n, n] that writes its output and the per-chunk column sums of it
   * (partial [chunks, n]), per part of rows fitting a binding; the chunks are then added into dsum in
   * order (held back while sums are held, else by sum_chunks).
   */
  #columnPartial(
    op: string,
    k: typeof MUL_COLUMN_PARTIAL,
    total: number,
    dsum: GpuTensor,
    args: (
      part: (t: GpuTensor) => ReturnType<typeof range>,
      r0: number,
      n: number,
    ) => { binds: Record<string, ReturnType<typeof range>>; uniforms: Record<string, number> },
  ): void {
    const n = dsum.size;
    if (n === 0 || total % n !== 0) {
      throw new TypeError(`Cannot run ${op}: ${total} elements are not rows of dsum's ${n}`);
    }
    for (const [r0, r1] of this.d.rowParts(op, total / n, n)) {
      const rows = r1 - r0, chunks = Math.ceil(rows / CHUNK_ROWS);
      const part = (t: GpuTensor) => range(t, r0 * n, r1 * n);
      const held = this.sums.alloc(chunks * n);
      const partial = held ?? this.d.rt.scratch(chunks * n);
      const { binds, uniforms } = args(part, r0, n);
      this.d.rt.dispatch(
        k,
        { ...binds, partial },
        { rows, n, chunk_rows: CHUNK_ROWS, chunks, ...uniforms },
        this.d.groups(k, chunks * n),
      );
      if (held) {
        this.sums.add(held, chunks, n, dsum);
        continue;
      }
      this.d.rt.dispatch(SUM_CHUNKS, { partial, out: dsum }, { n, chunks }, this.d.groups(SUM_CHUNKS, n));
      this.d.rt.free(partial);
    }
  }

  softmaxDropout(a: Parameters<FusedOps["softmaxDropout"]>[0]): void {
    const { heads, lq, lk } = softmaxDims({ x: a.x, mask: a.mask, out: a.probs });
    sameSize("softmaxDropout", a.probs, a.dropped);
    const [xs, ms, os, ds] = [a.x, a.mask, a.probs, a.dropped].map((t) => gpuTensor(t));
    const mask = maskUniforms(a);
    for (const [r0, r1] of this.d.rowParts("softmaxDropout", a.x.size / lk, lk)) {
      const part = (t: typeof xs) => range(t, r0 * lk, r1 * lk);
      this.d.rt.dispatch(
        SOFTMAX_DROPOUT,
        { x: part(xs), mask: ms, out: part(os), dropped: part(ds) },
        { rows: r1 - r0, row_base: r0, heads, lq, lk, ...mask },
        r1 - r0,
      );
    }
  }

  softmaxDropoutBackward(a: Parameters<FusedOps["softmaxDropoutBackward"]>[0]): void {
    sameSize("softmaxDropoutBackward", a.probs, a.ddropped, a.dx);
    const lk = a.probs.shape.at(-1)!;
    const [ps, dps, dxs] = [a.probs, a.ddropped, a.dx].map((t: Tensor) => gpuTensor(t));
    const mask = maskUniforms(a);
    for (const [r0, r1] of this.d.rowParts("softmaxDropoutBackward", a.probs.size / lk, lk)) {
      const part = (t: typeof ps) => range(t, r0 * lk, r1 * lk);
      this.d.rt.dispatch(
        SOFTMAX_DROPOUT_BACKWARD,
        { p: part(ps), dpd: part(dps), dx: part(dxs) },
        { rows: r1 - r0, row_base: r0, lk, ...mask },
        r1 - r0,
      );
    }
  }
}
