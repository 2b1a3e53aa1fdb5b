/**
 * residual_layernorm_backward_chunk (fused): residual_layernorm_backward and
 * residual_layernorm_params_partial in one pass. One workgroup of 128 per chunk of `chunk_rows` rows;
 * for each row r of the chunk, in order (x̂, g and the dropout mask of residual_layernorm_backward):
 *
 *   dres[r] = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂))   (written; the row sums are wg_sum trees)
 *   dproj[r] = dres[r] · keep/(1 − p)               (written)
 *
 * and invocation `lid` keeps, for its columns c = lid + 128·q (q < 8, so C ≤ 1024), the chunk's sums in
 * row order: partial[0, k, c] = Σ_r dy·x̂, partial[1, k, c] = Σ_r dy, partial[2, k, c] = Σ_r dproj. Then
 * sum_chunks3 adds the chunks (two dispatches where the three-kernel path takes three; that path, for
 * C > 1024, and the unfused calls are the twins in fused_test.ts).
 */
import type { KernelDef } from "../kernel.ts";
import { layerNormGradMeans } from "./rows.ts";
import { unroll } from "./unroll.ts";

/** Columns per invocation: C ≤ 128 · RLN_CHUNK_COLS. */
export const RLN_CHUNK_COLS = 8;
/** The widest row the chunk kernel takes. */
export const RLN_CHUNK_MAX_C = 128 * RLN_CHUNK_COLS;
/** Rows per workgroup (492 workgroups for BERT-base's 7,872 rows). */
export const RLN_CHUNK_ROWS = 16;

/** dres, dproj and the chunk partials of the parameter gradients */
export const RESIDUAL_LAYERNORM_BACKWARD_CHUNK: KernelDef = {
  name: "residual_layernorm_backward_chunk",
  workgroupSize: [128, 1],
  bindings: [
    { name: "dout", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "res", access: "read", type: "f32", shape: "[rows, C]" },
    { name: "mean", access: "read", type: "f32", shape: "[rows]" },
    { name: "rstd", access: "read", type: "f32", shape: "[rows]" },
    { name: "weight", access: "read", type: "f32", shape: "[C]" },
    { name: "dres", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "dproj", access: "read_write", type: "f32", shape: "[rows, C]" },
    { name: "partial", access: "read_write", type: "f32", shape: "[3, chunks, C]" },
  ],
  uniforms: {
    rows: "u32",
    c: "u32",
    chunk_rows: "u32",
    chunks: "u32",
    base: "u32",
    seed: "u32",
    threshold: "u32",
    scale: "f32",
  },
  helpers: ["reduce", "hash"],
  body: /* wgsl */ `
// column q of this invocation for row offset o: writes dres, dproj; adds to the chunk sums
fn rln_col(j: u32, o: u32, mu: f32, rs: f32, sg: f32, sgx: f32, sums: ptr<function, vec3<f32>>) {
  if (j >= P.c) { return; }
  let dy = dout[P.dout_off + o + j];
  let xh = (res[P.res_off + o + j] - mu) * rs;
  let v = rs * (dy * weight[P.weight_off + j] - sg - xh * sgx);
  dres[P.dres_off + o + j] = v;
  let keep = dropout_hash(P.base + o + j, P.seed) >= P.threshold;
  let dp = select(0.0, v * P.scale, keep);
  dproj[P.dproj_off + o + j] = dp;
  *sums = *sums + vec3<f32>(dy * xh, dy, dp);
}

fn rln_store(j: u32, k: u32, sums: vec3<f32>) {
  if (j >= P.c) { return; }
  let plane = P.chunks * P.c;
  partial[P.partial_off + k * P.c + j] = sums.x;
  partial[P.partial_off + plane + k * P.c + j] = sums.y;
  partial[P.partial_off + 2u * plane + k * P.c + j] = sums.z;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let k = wg_linear(wid, nwg);
  if (k >= P.chunks) { return; }
  let r1 = min(P.rows, (k + 1u) * P.chunk_rows);
${unroll(RLN_CHUNK_COLS, (q) => `var s${q} = vec3<f32>(0.0);`)}
  for (var r = k * P.chunk_rows; r < r1; r++) {
${layerNormGradMeans("res", "r")}
${unroll(RLN_CHUNK_COLS, (q) => `rln_col(lid + ${q * 128}u, o, mu, rs, sg, sgx, &s${q});`, "    ")}
  }
${unroll(RLN_CHUNK_COLS, (q) => `rln_store(lid + ${q * 128}u, k, s${q});`)}
}`,
};
