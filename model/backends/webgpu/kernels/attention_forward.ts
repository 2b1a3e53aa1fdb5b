/**
 * attention_forward (fused, L ≤ 128, HS ≤ 64): one self-attention head on a block of QB = 16 queries per
 * workgroup, with the score rows in workgroup memory:
 *
 *   scores[q, j] = (Q[q]·K[j])·scale + mask[s, q, j]     (K staged 32 keys at a time)
 *   probs[q, :]  = softmax(scores[q, :])                  (written: the backward needs it)
 *   dropped      = dropout(probs)                         (written when has_drop; the mask of kernels/dropout.ts
 *                                                          for element ((s·NH + h)·L + q)·L + j of probs)
 *   ctx[q, h·HS + d] = Σ_j dropped[q, j]·V[j, d]          (V staged 32 keys at a time)
 *
 * qkv rows are [q | k | v] (3C wide), head h at columns h·HS. Workgroup w is (s, h, query block) =
 * (w / (NH·QBLOCKS), (w / QBLOCKS) % NH, w % QBLOCKS). The unfused twin is the scores GEMM, softmax,
 * dropout and the context GEMM (layers.ts attentionForward; fused_test.ts). 256 invocations.
 */
import type { KernelDef } from "../kernel.ts";
import { chunkDots, chunkWeightedSum, keyChunks } from "./attention_chunks.ts";
import { indent } from "./unroll.ts";

/** Most positions and head size of the fused attention. */
export const ATTENTION_MAX_L = 128;
export const ATTENTION_MAX_HS = 64;
/** Queries per workgroup. */
export const ATTENTION_QB = 16;

/** one head's attention for 16 queries */
export const ATTENTION_FORWARD: KernelDef = {
  name: "attention_forward",
  workgroupSize: [256, 1],
  bindings: [
    { name: "qkv", access: "read", type: "f32", shape: "[S, L, 3C]" },
    { name: "mask", access: "read", type: "f32", shape: "[S, L, L] additive" },
    { name: "probs", access: "read_write", type: "f32", shape: "[S, NH, L, L]" },
    { name: "dropped", access: "read_write", type: "f32", shape: "[S, NH, L, L]" },
    { name: "ctx", access: "read_write", type: "f32", shape: "[S, L, C]" },
  ],
  uniforms: {
    groups: "u32",
    l: "u32",
    nh: "u32",
    hs: "u32",
    scale: "f32",
    has_drop: "u32",
    seed: "u32",
    threshold: "u32",
    pscale: "f32",
  },
  helpers: ["hash"],
  body: /* wgsl */ `
const QB: u32 = ${ATTENTION_QB}u;
const KC: u32 = 32u;                       // keys staged per chunk
const LM: u32 = ${ATTENTION_MAX_L}u;
const HM: u32 = ${ATTENTION_MAX_HS}u;
var<workgroup> Qs: array<f32, QB * HM>;    // Qs[q·HM + d]
var<workgroup> KVs: array<f32, KC * HM>;   // a chunk of K or V rows
var<workgroup> Ss: array<f32, QB * LM>;    // scores, then the dropped probabilities
var<workgroup> row_max: array<f32, QB>;
var<workgroup> row_inv: array<f32, QB>;
var<workgroup> red: array<f32, WG>;        // the row reductions, 16 per query row

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = wg_linear(wid, nwg);
  if (w >= P.groups) { return; }
  let qblocks = (P.l + QB - 1u) / QB;
  let s = w / (P.nh * qblocks);
  let h = (w / qblocks) % P.nh;
  let q0 = (w % qblocks) * QB;
  let c = P.nh * P.hs;
  let c3 = 3u * c;
  let row0 = P.qkv_off + s * P.l * c3 + h * P.hs;   // Q of position 0 of this head
  let nq = min(QB, P.l - q0);

  for (var e = lid; e < QB * P.hs; e += WG) {
    let q = e / P.hs;
    let d = e % P.hs;
    Qs[q * HM + d] = select(0.0, qkv[row0 + (q0 + q) * c3 + d], q < nq);
  }
  // scores, 32 keys at a time
${
    indent(
      keyChunks(
        "c + ",
        chunkDots(
          "Qs",
          "Ss[q * LM + kc + j] = dot * P.scale + mask[P.mask_off + (s * P.l + q0 + q) * P.l + kc + j];",
        ),
      ),
      "  ",
    )
  }
  workgroupBarrier();
  // softmax statistics: 16 invocations per query row, each over every 16th key, then a tree over the 16
  // (the order of the softmax kernel's sums, within a few ulps: the sum's error sets Σ probs − 1, of which the
  // analytically zero key-bias gradient is made)
  let rq = lid / 16u;
  let lane = lid % 16u;
  var mx = -3.4028235e38;
  if (rq < nq) { for (var j = lane; j < P.l; j += 16u) { mx = max(mx, Ss[rq * LM + j]); } }
  red[lid] = mx;
  workgroupBarrier();
  for (var st = 8u; st > 0u; st = st >> 1u) {
    if (lane < st) { red[lid] = max(red[lid], red[lid + st]); }
    workgroupBarrier();
  }
  mx = red[rq * 16u];
  workgroupBarrier();
  var sum = 0.0;
  if (rq < nq) { for (var j = lane; j < P.l; j += 16u) { sum += exp(Ss[rq * LM + j] - mx); } }
  red[lid] = sum;
  workgroupBarrier();
  for (var st = 8u; st > 0u; st = st >> 1u) {
    if (lane < st) { red[lid] = red[lid] + red[lid + st]; }
    workgroupBarrier();
  }
  if (lane == 0u) {
    row_max[rq] = mx;
    row_inv[rq] = 1.0 / red[lid];
  }
  workgroupBarrier();
  let pbase = ((s * P.nh + h) * P.l + q0) * P.l;   // element of probs at (s, h, q0, 0)
  for (var e = lid; e < nq * P.l; e += WG) {
    let q = e / P.l;
    let j = e % P.l;
    let p = exp(Ss[q * LM + j] - row_max[q]) * row_inv[q];
    probs[P.probs_off + pbase + e] = p;
    var pd = p;
    if (P.has_drop != 0u) {
      let keep = dropout_hash(pbase + e, P.seed) >= P.threshold;
      pd = select(0.0, p * P.pscale, keep);
      dropped[P.dropped_off + pbase + e] = pd;
    }
    Ss[q * LM + j] = pd;
  }
  // context, 32 value rows at a time; invocation (q, d0) owns columns d0, d0 + 16, ...
  let q = lid / 16u;
  let d0 = lid % 16u;
  var acc = vec4<f32>(0.0);
${indent(keyChunks("2u * c + ", chunkWeightedSum("q", "d0", "p", "acc")), "  ")}
  if (q < nq) {
    let out = P.ctx_off + (s * P.l + q0 + q) * c + h * P.hs;
    for (var t = 0u; t < 4u; t++) {
      let d = d0 + 16u * t;
      if (d < P.hs) { ctx[out + d] = acc[t]; }
    }
  }
}`,
};
