/**
 * The float32 sensitivity of a BertAdam run, measured on its float64 twin (train/parity.ts): how far a
 * correct float32 implementation (ours or the original) may end from the exact trajectory. Two effects, both
 * derived per element from the twin's gradients, the same way for every fixture (model/README.md "Parity
 * tolerances"):
 *
 * - {@linkcode adamSensitivity}: Adam's m/(√v + ε) turns small gradient differences into parameter
 *   differences, most where a gradient is near zero relative to ε or changes sign between steps. Each step's
 *   clipped gradient is perturbed by ±δ, δ = 1e-4·max|g| (the gradient parity tolerance of model/parity.ts),
 *   and the largest change of the final value over the steps and signs is taken.
 * - {@linkcode reluAmbiguity}: a ReLU whose float64 pre-activation lies within float32 noise of 0 may take
 *   either side in a float32 run; its gate decides whether a whole row of the region embedding's gradient
 *   flows. Such gates are counted; for the tensors whose gradient they gate ({@linkcode GATED}), the update of
 *   that step is bounded by the range of Adam's update over every clipped gradient ({@linkcode adamEnvelope}).
 * - {@linkcode lossSpread}: the loss after k updates, from float64 replays of the trajectory whose gradients
 *   are moved by ± the original's own measured float32 noise ({@linkcode originalNoise}); the loss rule
 *   {@linkcode lossWithinSpread} allows tol + 2·(largest change over the replays).
 *
 * @module
 */

/** BertAdam's hyper-parameters as the replay needs them. */
export interface AdamReplay {
  beta1: number;
  beta2: number;
  eps: number;
  maxGradNorm: number;
  /** the learning rate of each step */
  lrs: number[];
}

/** The gradient as BertAdam uses it: clipped to L2 norm `maxGradNorm` (clip_grad_norm_'s coefficient). */
export function clipped(g: Float64Array, maxGradNorm: number): Float64Array {
  if (!(maxGradNorm > 0)) return g;
  let s = 0;
  for (const v of g) s += v * v;
  const coef = maxGradNorm / (Math.sqrt(s) + 1e-6);
  return coef < 1 ? g.map((v) => v * coef) : g;
}

/** The final values after BertAdam steps with (already clipped) gradients `gs`, in float64. */
export function adamFinal(p0: Float64Array, gs: Float64Array[], wd: number, o: AdamReplay): Float64Array {
  const p = Float64Array.from(p0), m = new Float64Array(p.length), v = new Float64Array(p.length);
  gs.forEach((g, k) => {
    const lr = o.lrs[k];
    for (let i = 0; i < p.length; i++) {
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      p[i] -= lr * (m[i] / (Math.sqrt(v[i]) + o.eps) + wd * p[i]);
    }
  });
  return p;
}

/**
 * Per element: the max over steps k and signs ± of |final(g_k ± δ_k) − final| (see the module doc); `floor[k]`: a lower
 * bound of δ_k for a gradient that is zero in exact arithmetic (its float32 noise level).
 */
export function adamSensitivity(
  p0: Float64Array,
  gs: Float64Array[],
  wd: number,
  o: AdamReplay,
  floor?: number[],
): Float64Array {
  const steps = gs.length, out = new Float64Array(p0.length);
  const d = gs.map((g, k) => {
    let mx = 0;
    for (const x of g) mx = Math.max(mx, Math.abs(x));
    return Math.max(1e-4 * mx, floor?.[k] ?? 0);
  });
  // element by element (each element's replay is independent): the final value with step k's gradient
  // moved by s (k = −1: none), the same arithmetic as adamFinal
  const final = (i: number, k: number, s: number) => {
    let p = p0[i], m = 0, v = 0;
    for (let j = 0; j < steps; j++) {
      const g = j === k ? gs[j][i] + s : gs[j][i];
      m = o.beta1 * m + (1 - o.beta1) * g;
      v = o.beta2 * v + (1 - o.beta2) * g * g;
      p -= o.lrs[j] * (m / (Math.sqrt(v) + o.eps) + wd * p);
    }
    return p;
  };
  for (let i = 0; i < out.length; i++) {
    const base = final(i, -1, 0);
    let worst = 0;
    for (let k = 0; k < steps; k++) {
      worst = Math.max(worst, Math.abs(final(i, k, d[k]) - base), Math.abs(final(i, k, -d[k]) - base));
    }
    out[i] = worst;
  }
  return out;
}

/**
 * Per element: how far the update of step `k` can move for ANY clipped gradient of that step, lr_k·(u(+G) −
 * u(−G)) with u(g) = (β₁m + (1−β₁)g)/(√(β₂v + (1−β₂)g²) + ε) (monotone in g) and G = maxGradNorm (or the
 * g → ±∞ limit without clipping), plus the same for every later step with the bound |u| ≤ (1−β₁)/√(1−β₂)·Σ
 * (β₁/√β₂)^i over the steps so far.
 */
export function adamEnvelope(gs: Float64Array[], k: number, o: AdamReplay): Float64Array {
  const n = gs[0].length, m = new Float64Array(n), v = new Float64Array(n), out = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < n; i++) {
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * gs[j][i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * gs[j][i] ** 2;
    }
  }
  const u = (i: number, g: number) =>
    Number.isFinite(g)
      ? (o.beta1 * m[i] + (1 - o.beta1) * g) / (Math.sqrt(o.beta2 * v[i] + (1 - o.beta2) * g * g) + o.eps)
      : Math.sign(g) * (1 - o.beta1) / Math.sqrt(1 - o.beta2);
  const G = o.maxGradNorm > 0 ? o.maxGradNorm : Infinity;
  for (let i = 0; i < n; i++) out[i] = o.lrs[k] * Math.abs(u(i, G) - u(i, -G));
  let later = 0;
  for (let j = k + 1; j < gs.length; j++) {
    let bound = 0;
    for (let i = 0; i <= j; i++) bound += (o.beta1 / Math.sqrt(o.beta2)) ** i;
    later += o.lrs[j] * 2 * bound * (1 - o.beta1) / Math.sqrt(1 - o.beta2);
  }
  for (let i = 0; i < n; i++) out[i] += later;
  return out;
}

/** The ReLUs of the region embeddings (the model's only ReLUs in a captioning loss), by the Linear they follow. */
export const RELUS = ["vis_embed.0", "vis_embed.2", "vis_pe_embed.0"] as const;

/** The tensors whose gradient a ReLU's gates decide (the Linear before it, and the one after or before). */
export const GATED: Record<(typeof RELUS)[number], string[]> = {
  "vis_embed.0": ["vis_embed.0.weight", "vis_embed.0.bias", "vis_embed.2.weight"],
  "vis_embed.2": ["vis_embed.2.weight", "vis_embed.2.bias", "vis_embed.0.weight", "vis_embed.0.bias"],
  "vis_pe_embed.0": ["vis_pe_embed.0.weight", "vis_pe_embed.0.bias"],
};

/**
 * Pre-activations z = relu?(x)·Wᵀ + b of a Linear [out, in] over `rows` input rows, in float64: each output
 * summed in order along the input from its bias; 4 rows × 4 outputs at a time (16 sums from 8 loads), the
 * outputs in blocks of cached weights.
 */
export function linearPre(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: ArrayLike<number>,
  rows: number,
  reluInput = false,
): Float64Array {
  const out = b.length, inp = w.length / out, z = new Float64Array(rows * out);
  const wr = Float64Array.from(w), xs = new Float64Array(rows * inp);
  for (let q = 0; q < xs.length; q++) xs[q] = reluInput ? Math.max(x[q], 0) : x[q];
  // outputs in blocks whose weights stay in cache while every row passes
  const jb = Math.max(4, 4 * Math.floor(LINEAR_BLOCK_BYTES / (32 * inp)));
  for (let j0 = 0; j0 < out; j0 += jb) {
    const j1 = Math.min(out, j0 + jb);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const x0 = r * inp, x1 = x0 + inp, x2 = x1 + inp, x3 = x2 + inp;
      const z0 = r * out, z1 = z0 + out, z2 = z1 + out, z3 = z2 + out;
      let j = j0;
      for (; j + 4 <= j1; j += 4) {
        let s00 = b[j], s01 = b[j + 1], s02 = b[j + 2], s03 = b[j + 3];
        let s10 = s00, s11 = s01, s12 = s02, s13 = s03, s20 = s00, s21 = s01, s22 = s02, s23 = s03;
        let s30 = s00, s31 = s01, s32 = s02, s33 = s03;
        const w0 = j * inp, w1 = w0 + inp, w2 = w1 + inp, w3 = w2 + inp;
        for (let p = 0; p < inp; p++) {
          const a0 = xs[x0 + p], a1 = xs[x1 + p], a2 = xs[x2 + p], a3 = xs[x3 + p];
          const v0 = wr[w0 + p], v1 = wr[w1 + p], v2 = wr[w2 + p], v3 = wr[w3 + p];
          s00 += a0 * v0;
          s01 += a0 * v1;
          s02 += a0 * v2;
          s03 += a0 * v3;
          s10 += a1 * v0;
          s11 += a1 * v1;
          s12 += a1 * v2;
          s13 += a1 * v3;
          s20 += a2 * v0;
          s21 += a2 * v1;
          s22 += a2 * v2;
          s23 += a2 * v3;
          s30 += a3 * v0;
          s31 += a3 * v1;
          s32 += a3 * v2;
          s33 += a3 * v3;
        }
        z[z0 + j] = s00, z[z0 + j + 1] = s01, z[z0 + j + 2] = s02, z[z0 + j + 3] = s03;
        z[z1 + j] = s10, z[z1 + j + 1] = s11, z[z1 + j + 2] = s12, z[z1 + j + 3] = s13;
        z[z2 + j] = s20, z[z2 + j + 1] = s21, z[z2 + j + 2] = s22, z[z2 + j + 3] = s23;
        z[z3 + j] = s30, z[z3 + j + 1] = s31, z[z3 + j + 2] = s32, z[z3 + j + 3] = s33;
      }
      for (; j < j1; j++) {
        for (let q = 0; q < 4; q++) z[(r + q) * out + j] = dotFrom(b[j], xs, (r + q) * inp, wr, j * inp, inp);
      }
    }
    for (; r < rows; r++) {
      for (let j = j0; j < j1; j++) z[r * out + j] = dotFrom(b[j], xs, r * inp, wr, j * inp, inp);
    }
  }
  return z;
}

/** Bytes of float64 weights per output block of {@linkcode linearPre}. */
const LINEAR_BLOCK_BYTES = 256 * 1024;

/** s + Σ_p x[xo + p]·w[wo + p], summed in order of p. */
function dotFrom(s: number, x: Float64Array, xo: number, w: Float64Array, wo: number, n: number): number {
  for (let p = 0; p < n; p++) s += x[xo + p] * w[wo + p];
  return s;
}

/**
 * Gates of one ReLU within float32 noise of 0: the noise τ is twice the largest distance between a float32
 * run's pre-activations and the twin's (every gate of the ReLU: a measured, not an assumed, noise level).
 */
export function reluAmbiguity(z64: Float64Array, z32: Float64Array): { ambiguous: number; tau: number } {
  let d = 0;
  for (let i = 0; i < z64.length; i++) d = Math.max(d, Math.abs(z64[i] - z32[i]));
  const tau = 2 * d;
  let ambiguous = 0;
  for (const z of z64) if (Math.abs(z) <= tau) ambiguous++;
  return { ambiguous, tau };
}

/** clip_grad_norm_'s coefficient for one tensor (1 when its norm is within `maxGradNorm`). */
export function clipCoef(g: ArrayLike<number>, maxGradNorm: number): number {
  if (!(maxGradNorm > 0)) return 1;
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.min(1, maxGradNorm / (Math.sqrt(s) + 1e-6));
}

/**
 * The original's own float32 noise of one gradient, per element: |original − twin| at the initial parameters
 * (the fixture's `grads_s2s.npz` against the float64 twin's step-0 gradient, unclipped). A fixture that stores
 * only the first rows of a large gradient gives the noise of those rows; row r beyond them takes the noise of
 * row r mod (stored rows), i.e. element i that of element i mod `original.length`.
 */
export function originalNoise(original: ArrayLike<number>, twin: ArrayLike<number>): Float64Array {
  const out = new Float64Array(twin.length), n = original.length;
  for (let i = 0; i < out.length; i++) out[i] = Math.abs(original[i % n] - twin[i % n]);
  return out;
}

/** One tensor of a loss replay (see {@linkcode lossSpread}). */
export interface ReplayTensor {
  /** the value before training */
  p0: Float64Array;
  /** the twin's clipped gradient of each step */
  grads: Float64Array[];
  /** the perturbation's size per element at each step, on the clipped gradient's scale */
  noise: Float64Array[];
  /** weight decay */
  wd: number;
}

/**
 * The float32 sensitivity of the loss before update `k`, from perturbed float64 replays of the trajectory
 * (model/README.md "Parity tolerances"): each replay re-runs BertAdam's updates 0..k−1 on every tensor from
 * its initial value with the twin's clipped gradients, each element moved by ±noise (a random sign per
 * element and replay; a step after a learning rate 0 has the parameters of the step before, so its float32
 * gradient is the same and it reuses that step's signs), and evaluates the loss at the resulting parameters
 * (`loss`: a float64 forward). `spread` is the largest |loss_r − base| over the replays, `base` the replay
 * without perturbation (equal to the twin's own loss up to float64 rounding).
 */
export async function lossSpread(
  k: number,
  tensors: Map<string, ReplayTensor>,
  o: AdamReplay,
  replays: number,
  loss: (params: Map<string, Float64Array>) => Promise<number>,
  rng: { float(): number },
): Promise<{ base: number; losses: number[]; spread: number }> {
  const run = async (perturb: boolean) => {
    const params = new Map<string, Float64Array>();
    for (const [key, t] of tensors) {
      const gs: Float64Array[] = [];
      let signs: Float64Array | null = null;
      for (let j = 0; j < k; j++) {
        if (!signs || !(j > 0 && o.lrs[j - 1] === 0)) {
          signs = t.p0.map(() => (perturb ? (rng.float() < 0.5 ? -1 : 1) : 0));
        }
        const g = t.grads[j], d = t.noise[j], s: Float64Array = signs;
        gs.push(g.map((x, i) => x + s[i] * d[i]));
      }
      params.set(key, adamFinal(t.p0, gs, t.wd, o));
    }
    return await loss(params);
  };
  const base = await run(false), losses: number[] = [];
  for (let r = 0; r < replays; r++) losses.push(await run(true));
  return { base, losses, spread: losses.reduce((m, l) => Math.max(m, Math.abs(l - base)), 0) };
}

/** Replays of {@linkcode lossSpread} per failing loss check (its spread is a maximum over them). */
export const LOSS_REPLAYS = 6;

/**
 * The loss rule: two float32 runs of the same trajectory (ours, the original) each lie within the spread S of
 * the float64 replays, so |ours − original| ≤ tol + 2·S (tol: the fixed loss tolerance).
 */
export function lossWithinSpread(ours: number, original: number, spread: number, tol: number): boolean {
  return Math.abs(ours - original) <= tol + 2 * spread;
}
