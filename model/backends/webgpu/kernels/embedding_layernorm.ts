/**
 * embedding_layernorm (fused): VLP's embedding layer in one pass over each row (b, l) of [B·L, C],
 *
 *   emb = word + position + segment   (slots 1..R: region + region geometry + segment; kernels/embedding.ts)
 *   ln  = LN(emb)                     (two-pass variance, as layernorm)
 *   out = dropout(ln)                 (written with has_drop; the mask of kernels/dropout.ts at base + row·C + j)
 *
 * writing emb (the backward's LayerNorm input), ln, out, μ and rstd. Each value is formed as the embedding,
 * layernorm and dropout kernels form it, so the result equals those three dispatches bit for bit. Token ids,
 * segment ids and positions out of range are reported through the status word (the row's values are then
 * meaningless; the next read throws). The unfused twin is `embedding`, `layernorm`, `dropout`
 * (fused_test.ts). One workgroup of 128 per row; `row_base` is the first row of this dispatch.
 */
import type { KernelDef } from "../kernel.ts";
import { ROW_MAIN } from "./rows.ts";

/** emb = the embedding sum; ln = LN(emb); out = dropout(ln) */
export const EMBEDDING_LAYERNORM: KernelDef = {
  name: "embedding_layernorm",
  workgroupSize: [128, 1],
  status: true,
  bindings: [
    { name: "ids", access: "read", type: "i32", shape: "[B, L]" },
    { name: "seg", access: "read", type: "i32", shape: "[B, L]" },
    { name: "position_ids", access: "read", type: "i32", shape: "[B, L] (placeholder without has_pos_ids)" },
    { name: "wte", access: "read", type: "f32", shape: "[V, C]" },
    { name: "wpe", access: "read", type: "f32", shape: "[maxPositions, C]" },
    { name: "wtt", access: "read", type: "f32", shape: "[typeVocab, C]" },
    { name: "regions", access: "read", type: "f32", shape: "[B, R, C] (placeholder when R = 0)" },
    { name: "region_pos", access: "read", type: "f32", shape: "[B, R, C] (placeholder when R = 0)" },
    { name: "weight", access: "read", type: "f32", shape: "[C]" },
    { name: "bias", access: "read", type: "f32", shape: "[C]" },
    { name: "emb", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "ln", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "out", access: "read_write", type: "f32", shape: "[rows, C] (placeholder without has_drop)" },
    { name: "mean", access: "read_write", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read_write", type: "f32", shape: "[rows]" },
  ],
  uniforms: {
    rows: "u32",
    row_base: "u32",
    l: "u32",
    c: "u32",
    r: "u32",
    pos_offset: "u32",
    has_pos_ids: "u32",
    nvocab: "u32",
    npos: "u32",
    ntype: "u32",
    eps: "f32",
    has_drop: "u32",
    seed: "u32",
    threshold: "u32",
    scale: "f32",
  },
  helpers: ["reduce", "hash"],
  body: ROW_MAIN + /* wgsl */ `
  let bl = P.row_base + row;              // b·L + l
  let l = bl % P.l;
  let b = bl / P.l;
  let o = row * P.c;
  let region = l >= 1u && l <= P.r;
  // the row's table rows, checked as the embedding kernel checks them (segment, then token id, position)
  let t = seg[P.seg_off + bl];
  var id = 0;
  var pos = 0;
  if (!region) {
    id = ids[P.ids_off + bl];
    pos = select(i32(P.pos_offset + l), position_ids[P.position_ids_off + bl], P.has_pos_ids != 0u);
  }
  let t_ok = t >= 0 && u32(t) < P.ntype;
  let id_ok = region || (id >= 0 && u32(id) < P.nvocab);
  let pos_ok = region || (pos >= 0 && u32(pos) < P.npos);
  if (lid == 0u) {
    if (!t_ok) { report_oob(bl, t, P.ntype); }
    else if (!id_ok) { report_oob(bl, id, P.nvocab); }
    else if (!pos_ok) { report_oob(bl, pos, P.npos); }
  }
  let tu = select(0u, u32(t), t_ok);
  let idu = select(0u, u32(id), t_ok && id_ok && pos_ok);
  let posu = select(0u, u32(pos), t_ok && id_ok && pos_ok);
  let cf = f32(P.c);
  var s = 0.0;
  // each invocation reads back only the elements it wrote (same j), so no barrier is needed between passes
  for (var j = lid; j < P.c; j += WG) {
    let tv = wtt[P.wtt_off + tu * P.c + j];
    var v: f32;
    if (region) {
      let ro = (b * P.r + l - 1u) * P.c + j;
      v = regions[P.regions_off + ro] + region_pos[P.region_pos_off + ro] + tv;
    } else {
      v = wte[P.wte_off + idu * P.c + j] + wpe[P.wpe_off + posu * P.c + j] + tv;
    }
    emb[P.emb_off + o + j] = v;
    s += v;
  }
  let mu = wg_sum(lid, s) / cf;
  var q = 0.0;
  for (var j = lid; j < P.c; j += WG) { let d = emb[P.emb_off + o + j] - mu; q += d * d; }
  let rs = 1.0 / sqrt(wg_sum(lid, q) / cf + P.eps);
  for (var j = lid; j < P.c; j += WG) {
    let y = (emb[P.emb_off + o + j] - mu) * rs * weight[P.weight_off + j] + bias[P.bias_off + j];
    ln[P.ln_off + o + j] = y;
    if (P.has_drop != 0u) {
      let keep = dropout_hash(P.row_base * P.c + o + j, P.seed) >= P.threshold;
      out[P.out_off + o + j] = select(0.0, y * P.scale, keep);
    }
  }
  if (lid == 0u) {
    mean[P.mean_off + row] = mu;
    rstd[P.rstd_off + row] = rs;
  }
}`,
};
