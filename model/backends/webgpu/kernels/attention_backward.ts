/**
 * attention_backward (fused, L ≤ 128, HS ≤ 64): the backward of attention_forward for one (sequence, head)
 * per workgroup, query blocks of QB = 16 in turn:
 *
 *   dPD[q, j] = dctx[q]·V[j]                         (V staged 16 keys at a time)
 *   PD = dropout(P), dP = dropout backward of dPD      (the forward's mask, from probs and the seed)
 *   dS[q, j]  = P[q, j]·(dP[q, j] − Σ_j' P·dP)         (16 invocations per row and a tree)
 *   dQ[q]     = scale·Σ_j dS[q, j]·K[j]                (written per block; K staged 16 keys at a time)
 *   dK[j]    += scale·Σ_q dS[q, j]·Q[q],  dV[j] += Σ_q PD[q, j]·dctx[q]   (registers, over all blocks)
 *
 * and writes dQ, dK, dV into dqkv (rows [dq | dk | dv], head h at columns h·HS), and, with has_bias, the
 * sums of those columns over the sequence's L positions into bias_partial[s, ·] (the Q/K/V bias gradient
 * of this sequence: trees over the queries of each block, then the blocks in order, and over the keys).
 * Invocation t owns key
 * t / 2 and the 32 columns (t % 2)·32 + 0..31 of its dK and dV rows. The unfused twin is the four batched
 * GEMMs and the dropout and softmax backwards (layers.ts attentionBackward; fused_test.ts). 256 invocations.
 */
import type { KernelDef } from "../kernel.ts";
import { chunkDots, chunkWeightedSum, keyChunks } from "./attention_chunks.ts";
import { indent } from "./unroll.ts";

/** one head's attention backward */
export const ATTENTION_BACKWARD: KernelDef = {
  name: "attention_backward",
  workgroupSize: [256, 1],
  bindings: [
    { name: "qkv", access: "read", type: "f32", shape: "[S, L, 3C]" },
    { name: "probs", access: "read", type: "f32", shape: "[S, NH, L, L]" },
    { name: "dctx", access: "read", type: "f32", shape: "[S, L, C]" },
    { name: "dqkv", access: "read_write", type: "f32", shape: "[S, L, 3C]" },
    {
      name: "bias_partial",
      access: "read_write",
      type: "f32",
      shape: "[S, 3C] (a placeholder without has_bias)",
    },
  ],
  uniforms: {
    groups: "u32",
    l: "u32",
    nh: "u32",
    hs: "u32",
    scale: "f32",
    seed: "u32",
    threshold: "u32",
    pscale: "f32",
    has_bias: "u32",
  },
  helpers: ["hash"],
  body: /* wgsl */ `
const QB: u32 = 16u;
const KC: u32 = 16u;
const LM: u32 = 128u;
const HM: u32 = 64u;
var<workgroup> Qs: array<f32, QB * HM>;    // Q of the block
var<workgroup> Ds: array<f32, QB * HM>;    // dctx of the block
var<workgroup> KVs: array<f32, KC * HM>;   // a chunk of V or K rows
var<workgroup> Ss: array<f32, QB * LM>;    // dPD, then dS
var<workgroup> Ps: array<f32, QB * LM>;    // PD (the dropped probabilities)
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = wg_linear(wid, nwg);
  if (w >= P.groups) { return; }
  let s = w / P.nh;
  let h = w % P.nh;
  let c = P.nh * P.hs;
  let c3 = 3u * c;
  let row0 = P.qkv_off + s * P.l * c3 + h * P.hs;     // Q of position 0 of this head
  let drow0 = P.dqkv_off + s * P.l * c3 + h * P.hs;
  let crow0 = P.dctx_off + s * P.l * c + h * P.hs;
  let pbase0 = (s * P.nh + h) * P.l * P.l;             // element of probs at (s, h, 0, 0)
  let kj = lid / 2u;                                   // the key whose dK, dV rows this invocation owns
  let kd0 = (lid % 2u) * 32u;
  var acc_k: array<f32, 32>;
  var acc_v: array<f32, 32>;
  let rq = lid / 16u;
  let lane = lid % 16u;
  var bq = vec4<f32>(0.0);                             // Σ_q dQ[q, lane + 16t] (invocations lid < 16)

  for (var q0 = 0u; q0 < P.l; q0 += QB) {
    let nq = min(QB, P.l - q0);
    workgroupBarrier();
    for (var e = lid; e < QB * P.hs; e += WG) {
      let q = e / P.hs;
      let d = e % P.hs;
      Qs[q * HM + d] = select(0.0, qkv[row0 + (q0 + q) * c3 + d], q < nq);
      Ds[q * HM + d] = select(0.0, dctx[crow0 + (q0 + q) * c + d], q < nq);
    }
    // dPD = dctx·Vᵀ, 16 keys at a time; PD from probs
${indent(keyChunks("2u * c + ", chunkDots("Ds", "Ss[q * LM + kc + j] = dot;")), "    ")}
    workgroupBarrier();
    // dP, the row dots Σ P·dP (16 invocations per row, then a tree), PD
    var part = 0.0;
    if (rq < nq) {
      for (var j = lane; j < P.l; j += 16u) {
        let at = pbase0 + (q0 + rq) * P.l + j;
        let p = probs[P.probs_off + at];
        let keep = dropout_hash(at, P.seed) >= P.threshold;
        let dp = select(0.0, Ss[rq * LM + j] * P.pscale, keep);
        Ss[rq * LM + j] = dp;
        Ps[rq * LM + j] = select(0.0, p * P.pscale, keep);
        part += p * dp;
      }
    }
    red[lid] = part;
    workgroupBarrier();
    for (var st = 8u; st > 0u; st = st >> 1u) {
      if (lane < st) { red[lid] = red[lid] + red[lid + st]; }
      workgroupBarrier();
    }
    let rowdot = red[rq * 16u];
    if (rq < nq) {
      for (var j = lane; j < P.l; j += 16u) {
        let p = probs[P.probs_off + pbase0 + (q0 + rq) * P.l + j];
        Ss[rq * LM + j] = p * (Ss[rq * LM + j] - rowdot);   // dS
      }
    }
    workgroupBarrier();
    // dK, dV rows of key kj (over this block's queries)
    if (kj < P.l) {
      for (var q = 0u; q < nq; q++) {
        let ds = Ss[q * LM + kj] * P.scale;
        let pd = Ps[q * LM + kj];
        for (var i = 0u; i < 32u; i++) {
          let d = kd0 + i;
          if (d < P.hs) {
            acc_k[i] = fma(ds, Qs[q * HM + d], acc_k[i]);
            acc_v[i] = fma(pd, Ds[q * HM + d], acc_v[i]);
          }
        }
      }
    }
    // dQ = scale·dS·K, K 16 keys at a time; invocation (rq, lane) owns columns lane, lane + 16, ...
    var dq = vec4<f32>(0.0);
${indent(keyChunks("c + ", chunkWeightedSum("rq", "lane", "ds", "dq")), "    ")}
    if (rq < nq) {
      for (var t = 0u; t < 4u; t++) {
        let d = lane + 16u * t;
        if (d < P.hs) { dqkv[drow0 + (q0 + rq) * c3 + d] = P.scale * dq[t]; }
      }
    }
    if (P.has_bias != 0u) {
      // this block's column sums of dQ: a tree over its 16 query rows (same lane), into bq
      for (var t = 0u; t < 4u; t++) {
        red[lid] = select(0.0, P.scale * dq[t], rq < nq);
        workgroupBarrier();
        for (var st = 128u; st >= 16u; st = st >> 1u) {
          if (lid < st) { red[lid] = red[lid] + red[lid + st]; }
          workgroupBarrier();
        }
        if (lid < 16u) { bq[t] += red[lid]; }
        workgroupBarrier();
      }
    }
  }
  if (kj < P.l) {
    for (var i = 0u; i < 32u; i++) {
      let d = kd0 + i;
      if (d < P.hs) {
        dqkv[drow0 + kj * c3 + c + d] = acc_k[i];
        dqkv[drow0 + kj * c3 + 2u * c + d] = acc_v[i];
      }
    }
  }
  if (P.has_bias != 0u) {
    let bp = P.bias_partial_off + s * c3 + h * P.hs;
    if (lid < 16u) {
      for (var t = 0u; t < 4u; t++) {
        let d = lid + 16u * t;
        if (d < P.hs) { bias_partial[bp + d] = bq[t]; }
      }
    }
    // column sums of dK and dV over the keys: a tree over the 128 invocations of each column half
    for (var i = 0u; i < 32u; i++) {
      for (var kv = 0u; kv < 2u; kv++) {
        let v = select(acc_k[i], acc_v[i], kv == 1u);
        red[lid] = select(0.0, v, kj < P.l);
        workgroupBarrier();
        for (var st = 128u; st >= 2u; st = st >> 1u) {
          if (lid < st) { red[lid] = red[lid] + red[lid + st]; }
          workgroupBarrier();
        }
        let d = kd0 + i;
        if (lid < 2u && d < P.hs) { bias_partial[bp + (kv + 1u) * c + d] = red[lid]; }
        workgroupBarrier();
      }
    }
  }
}`,
};
