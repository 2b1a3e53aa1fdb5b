/**
 * The input side of VLP as forward/backward pairs over backend tensors: the two region branches
 * (`vis_embed`, `vis_pe_embed` of `BertEmbeddings` in the original's modeling.py) and the embedding layer
 * (word + position + segment embeddings, regions in slots 1..R, LayerNorm, dropout). The full forward
 * (vlp.ts) and the incremental decoder (incremental.ts) both call these; the ONNX graphs
 * (onnx/vlp_graph.ts: `regionBranches`, `embeddings`) follow them.
 *
 * @module
 */
import type { Backend, EmbeddingArgs, Tensor } from "./backend.ts";
import type { ModelTensors } from "./params.ts";
import { type DropoutSite, linear, linearBackward } from "./layers.ts";

/** Inputs of the region branches. */
export interface RegionInputs {
  /** [B·R, F] region appearance features (fc6) */
  feats: Tensor;
  /** [B·R, G] region geometry + class vector */
  visPe: Tensor;
}

/** Activations of the region branches (the backward reads them). */
export interface RegionBuffers {
  /** [B·R, FH] feats·W0ᵀ + b0 */
  r1Pre: Tensor;
  /** [B·R, FH] relu */
  r1: Tensor;
  /** [B·R, C] r1·W2ᵀ + b2 */
  r2Pre: Tensor;
  /** [B·R, C] relu: the appearance branch before dropout */
  r2: Tensor;
  /** [B·R, C] visPe·Wpeᵀ + bpe */
  pPre: Tensor;
  /** [B·R, C] relu: the geometry branch before dropout */
  p: Tensor;
}

/** Dropout of the two region branches: probability, one seed per branch, and where each result goes. */
export interface RegionDropout {
  p: number;
  /** seeds of the appearance and the geometry branch */
  seeds: readonly [number, number];
  /** [B·R, C] dropout(r2) */
  vis: Tensor;
  /** [B·R, C] dropout(p) */
  pe: Tensor;
}

/**
 * The region branches (spec §1.3):
 *
 *   vis = dropout(relu(relu(feats·W0ᵀ + b0)·W2ᵀ + b2))     [B·R, C]   vis_embed
 *   pe  = dropout(relu(visPe·Wpeᵀ + bpe))                   [B·R, C]   vis_pe_embed
 *
 * Returns the tensors holding vis and pe (t.r2 and t.p without dropout).
 */
export function regionBranchesForward(
  be: Backend,
  w: ModelTensors,
  x: RegionInputs,
  t: RegionBuffers,
  drop: RegionDropout | null,
): { vis: Tensor; pe: Tensor } {
  linearRelu(be, x.feats, w.vis0W, w.vis0B, t.r1Pre, t.r1);
  linearRelu(be, t.r1, w.vis2W, w.vis2B, t.r2Pre, t.r2);
  if (drop) be.dropout({ x: t.r2, out: drop.vis, p: drop.p, seed: drop.seeds[0] });
  linearRelu(be, x.visPe, w.visPeW, w.visPeB, t.pPre, t.p);
  if (drop) be.dropout({ x: t.p, out: drop.pe, p: drop.p, seed: drop.seeds[1] });
  return drop ? { vis: drop.vis, pe: drop.pe } : { vis: t.r2, pe: t.p };
}

/** out = relu(x·wᵀ + b) (fused: one GEMM with the ReLU epilogue, pre then not written; else linear + relu). */
function linearRelu(be: Backend, x: Tensor, w: Tensor, b: Tensor, pre: Tensor, out: Tensor): void {
  if (be.fused?.linearRelu({ x, w, bias: b, pre, out })) return;
  linear(be, x, w, b, pre);
  be.relu({ x: pre, out });
}

/**
 * Backward of {@linkcode regionBranchesForward} from d(vis), d(pe) [B·R, C]: parameter gradients accumulate
 * into `g` (the inputs get none). Scratch: `t1`, `t2` [B·R, C], `dr1` [B·R, FH]; `t.r1Pre` is overwritten.
 */
export function regionBranchesBackward(
  be: Backend,
  w: ModelTensors,
  g: ModelTensors,
  x: RegionInputs,
  t: RegionBuffers,
  d: { dvis: Tensor; dpe: Tensor; t1: Tensor; t2: Tensor; dr1: Tensor },
  drop: Omit<RegionDropout, "vis" | "pe"> | null,
): void {
  const site = (seed: number) => (drop ? { p: drop.p, seed } : null);
  // geometry branch: pe = dropout(relu(visPe·Wpeᵀ + bpe))
  reluDropoutBackward(be, t.p, d.dpe, d.t1, d.t2, g.visPeB, site(drop?.seeds[1] ?? 0));
  linearBackward(be, { x: x.visPe, w: w.visPeW, dy: d.t2, dx: null, dw: g.visPeW, db: null });
  // appearance branch: vis = dropout(relu(relu(feats·W0ᵀ + b0)·W2ᵀ + b2)); r1Pre is free scratch now
  reluDropoutBackward(be, t.r2, d.dvis, d.t1, d.t2, g.vis2B, site(drop?.seeds[0] ?? 0));
  linearBackward(be, { x: t.r1, w: w.vis2W, dy: d.t2, dx: t.r1Pre, dw: g.vis2W, db: null });
  reluDropoutBackward(be, t.r1, t.r1Pre, d.t1, d.dr1, g.vis0B, null);
  linearBackward(be, { x: x.feats, w: w.vis0W, dy: d.dr1, dx: null, dw: g.vis0W, db: null });
}

/**
 * dx = reluBackward(y, dropoutBackward(dout)) and db += Σ_rows dx: the backward of dropout(relu(pre)) down
 * to pre, with the Linear's bias gradient (fused: one pass; else the calls, `tmp` holding the dropout's).
 */
function reluDropoutBackward(
  be: Backend,
  y: Tensor,
  dout: Tensor,
  tmp: Tensor,
  dx: Tensor,
  db: Tensor,
  drop: DropoutSite | null,
): void {
  if (be.fused) return be.fused.reluBackwardColumnSum({ y, dout, dx, dsum: db, dropout: drop });
  if (drop) be.dropoutBackward({ dout, dx: tmp, ...drop });
  be.reluBackward({ y, dout: drop ? tmp : dout, dx });
  be.sumRows({ x: dx, out: db, accumulate: true });
}

/** Inputs of the embedding layer: ids, segments (and positions) [B, L], optional regions [B, R, C]. */
export type EmbeddingInputs = Omit<EmbeddingArgs, "wte" | "wpe" | "wtt" | "out">;

/** Buffers of the embedding layer. */
export interface EmbeddingBuffers {
  /** [B·L, C] embedding sum */
  emb: Tensor;
  /** [B·L] LayerNorm statistics */
  mean: Tensor;
  rstd: Tensor;
  /** [B·L, C] LayerNorm output */
  ln: Tensor;
  /** [B·L, C] after dropout (training only) */
  out: Tensor;
}

/**
 * The embedding layer (BertEmbeddings) of ids, segments [B, L] (B = ids.shape[0], L = ids.shape[1]):
 *
 *   emb = word + position + segment   (slots 1..R: regions and regionPos instead of word and position)
 *   h₀  = dropout(LN(emb))            [B·L, C]
 *
 * Returns the tensor holding h₀ (t.ln without dropout).
 */
export function embeddingsForward(
  be: Backend,
  w: ModelTensors,
  inp: EmbeddingInputs,
  t: EmbeddingBuffers,
  eps: number,
  drop: DropoutSite | null,
): Tensor {
  const [B, L] = inp.ids.shape, C = t.emb.shape[1];
  const emb = { ...inp, wte: w.wte, wpe: w.wpe, wtt: w.wtt, out: be.view(t.emb, 0, [B, L, C]) };
  const ln = { weight: w.embLnW, bias: w.embLnB, mean: t.mean, rstd: t.rstd, eps };
  if (be.fused) {
    // the sum, the LayerNorm and the dropout in one pass over each row
    be.fused.embeddingLayernorm({ emb, ...ln, ln: t.ln, out: t.out, dropout: drop });
    return drop ? t.out : t.ln;
  }
  be.embedding(emb);
  be.layernorm({ x: t.emb, ...ln, out: t.ln });
  if (drop) be.dropout({ x: t.ln, out: t.out, ...drop });
  return drop ? t.out : t.ln;
}

/**
 * Backward of {@linkcode embeddingsForward} from dh = d(h₀) [B·L, C]: the table gradients accumulate into
 * `g`, the region gradients are written to `dregions`, `dregionPos` [B, R, C] (when the forward had regions).
 * Scratch: `ddrop`, `demb` [B·L, C].
 */
export function embeddingsBackward(
  be: Backend,
  w: ModelTensors,
  g: ModelTensors,
  inp: Omit<EmbeddingInputs, "regions" | "regionPos">,
  t: Pick<EmbeddingBuffers, "emb" | "mean" | "rstd">,
  d: { dh: Tensor; ddrop: Tensor; demb: Tensor; dregions?: Tensor; dregionPos?: Tensor },
  drop: DropoutSite | null,
): void {
  const [B, L] = inp.ids.shape, C = t.emb.shape[1];
  const tables = {
    ids: inp.ids,
    segmentIds: inp.segmentIds,
    posOffset: inp.posOffset,
    ...(inp.positionIds ? { positionIds: inp.positionIds } : {}),
    dwte: g.wte,
    dwpe: g.wpe,
    dwtt: g.wtt,
    ...(d.dregions ? { dregions: d.dregions } : {}),
    ...(d.dregionPos ? { dregionPos: d.dregionPos } : {}),
  };
  if (be.fused) {
    // dropout, LayerNorm and the region gradients in one chunked pass, then the tables
    be.fused.embeddingLayernormBackward({
      dout: d.dh,
      emb: t.emb,
      mean: t.mean,
      rstd: t.rstd,
      weight: w.embLnW,
      demb: d.demb,
      dweight: g.embLnW,
      dbias: g.embLnB,
      dropout: drop,
      tables,
    });
    return;
  }
  if (drop) be.dropoutBackward({ dout: d.dh, dx: d.ddrop, ...drop });
  be.layernormBackward({
    dout: drop ? d.ddrop : d.dh,
    x: t.emb,
    mean: t.mean,
    rstd: t.rstd,
    weight: w.embLnW,
    dx: d.demb,
    dweight: g.embLnW,
    dbias: g.embLnB,
  });
  be.embeddingBackward({ ...tables, dout: be.view(d.demb, 0, [B, L, C]) });
}
