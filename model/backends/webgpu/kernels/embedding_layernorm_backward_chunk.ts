/**
 * embedding_layernorm_backward_chunk (fused): the backward of the embedding layer's h₀ = dropout(LN(emb))
 * down to d(emb), with the LayerNorm's parameter sums and the region slots' gradients. One workgroup of
 * 128 per chunk of `chunk_rows` rows; for each row r of the chunk, in order:
 *
 *   dy      = dout · keep/(1 − p)                       (the dropout mask at base + r·C + j; none: dout)
 *   demb[r] = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂)), g = dy ⊙ weight   (written; row sums as wg_sum trees)
 *   dregions[b, l−1] = dregion_pos[b, l−1] = demb[r]     (region slots 1 ≤ l ≤ R of row r = b·L + l)
 *
 * and invocation `lid` keeps, for its columns c = lid + 128·q (q < 8, so C ≤ 1024), the chunk's sums in
 * row order: partial[0, k, c] = Σ_r dy·x̂ (dweight), partial[1, k, c] = Σ_r dy (dbias), added by
 * sum_chunks (or held back, ops/grad_sums.ts). The unfused twin is `dropoutBackward`, `layernormBackward`
 * and the region part of `embeddingBackward` (fused_test.ts).
 */
import type { KernelDef } from "../kernel.ts";
import { layerNormGradMeans } from "./rows.ts";
import { unroll } from "./unroll.ts";
import { RLN_CHUNK_COLS } from "./residual_layernorm_backward_chunk.ts";

/** demb, the region gradients and the chunk partials of the LayerNorm's parameter gradients */
export const EMBEDDING_LAYERNORM_BACKWARD_CHUNK: KernelDef = {
  name: "embedding_layernorm_backward_chunk",
  workgroupSize: [128, 1],
  bindings: [
    { name: "dout", access: "read", type: "f32", shape: "[rows, C] d(h₀)" },
    { name: "x", access: "read", type: "f32", shape: "[rows, C] the embedding sum" },
    { name: "mean", access: "read", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read", type: "f32", shape: "[rows]" },
    { name: "weight", access: "read", type: "f32", shape: "[C]" },
    { name: "demb", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "dregions", access: "read_write", type: "f32", shape: "[B, R, C] (placeholder when R = 0)" },
    { name: "dregion_pos", access: "read_write", type: "f32", shape: "[B, R, C] (placeholder when R = 0)" },
    { name: "partial", access: "read_write", type: "f32", shape: "[2, chunks, C]" },
  ],
  uniforms: {
    rows: "u32",
    row_base: "u32",
    c: "u32",
    l: "u32",
    r: "u32",
    chunk_rows: "u32",
    chunks: "u32",
    has_drop: "u32",
    seed: "u32",
    threshold: "u32",
    scale: "f32",
  },
  helpers: ["reduce", "hash"],
  body: /* wgsl */ `
// d(LN output) of element j of the row at offset o (the dropout's backward)
fn dy_at(o: u32, j: u32) -> f32 {
  let g = dout[P.dout_off + o + j];
  if (P.has_drop == 0u) { return g; }
  return select(0.0, g * P.scale, dropout_hash(P.row_base * P.c + o + j, P.seed) >= P.threshold);
}

// column j of the row at offset o: writes demb (and the region gradients at region offset ro); adds to
// the chunk sums
fn eln_col(j: u32, o: u32, ro: u32, region: bool, mu: f32, rs: f32, sg: f32, sgx: f32,
           sums: ptr<function, vec2<f32>>) {
  if (j >= P.c) { return; }
  let dy = dy_at(o, j);
  let xh = (x[P.x_off + o + j] - mu) * rs;
  let v = rs * (dy * weight[P.weight_off + j] - sg - xh * sgx);
  demb[P.demb_off + o + j] = v;
  if (region) {
    dregions[P.dregions_off + ro + j] = v;
    dregion_pos[P.dregion_pos_off + ro + j] = v;
  }
  *sums = *sums + vec2<f32>(dy * xh, dy);
}

fn eln_store(j: u32, k: u32, sums: vec2<f32>) {
  if (j >= P.c) { return; }
  partial[P.partial_off + k * P.c + j] = sums.x;
  partial[P.partial_off + P.chunks * P.c + k * P.c + j] = sums.y;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let k = wg_linear(wid, nwg);
  if (k >= P.chunks) { return; }
  let r1 = min(P.rows, (k + 1u) * P.chunk_rows);
${unroll(RLN_CHUNK_COLS, (q) => `var s${q} = vec2<f32>(0.0);`)}
  for (var r = k * P.chunk_rows; r < r1; r++) {
    let bl = P.row_base + r;
    let l = bl % P.l;
    let region = l >= 1u && l <= P.r;
    let ro = select(0u, ((bl / P.l) * P.r + l - 1u) * P.c, region);
${layerNormGradMeans("x", "r", "dy_at(o, j)")}
${
    unroll(RLN_CHUNK_COLS, (q) =>
      `eln_col(lid + ${q * 128}u, o, ro, region, mu, rs, sg, sgx, &s${q});`, "    ")
  }
  }
${unroll(RLN_CHUNK_COLS, (q) => `eln_store(lid + ${q * 128}u, k, s${q});`)}
}`,
};
