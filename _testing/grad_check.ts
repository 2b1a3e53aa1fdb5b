/**
 * Float64 finite-difference gradient checks (the JAX `check_vjp` idea).
 *
 * Given a function f(inputs) -> output and its hand-written vector-Jacobian product vjp(inputs, dy) ->
 * dInputs, check that for a random cotangent v and random tangents u_i
 *   Σ_i <u_i, vjp(x, v)_i>  ≈  (<v, f(x + εu)> − <v, f(x − εu)>) / 2ε
 * and, for a few single coordinates, that the gradient entry matches the central difference.
 * Everything runs in float64 so the tolerance can be tight (about 1e-6 relative).
 */
import { AssertionError } from "node:assert";
import { Rng } from "@vlp/model/rng";

/** Options of {@linkcode checkVjp}. */
export interface GradCheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Relative tolerance on each comparison (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance on each comparison (default 1e-8). */
  atol?: number;
  /** Seed of the random directions (default 0). */
  seed?: number;
  /** Number of single-coordinate probes per input (default 3). */
  probes?: number;
  /** Name printed in failure messages. */
  name?: string;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function shifted(inputs: Float64Array[], dirs: Float64Array[], h: number): Float64Array[] {
  return inputs.map((x, k) => {
    const y = new Float64Array(x.length);
    const u = dirs[k]!;
    for (let i = 0; i < x.length; i++) y[i] = x[i]! + h * u[i]!;
    return y;
  });
}

/**
 * Check a vector-Jacobian product against central differences. `f` and `vjp` must not modify their inputs.
 * Returns the directional values so callers can log them.
 */
export function checkVjp(
  f: (inputs: Float64Array[]) => Float64Array,
  vjp: (inputs: Float64Array[], dy: Float64Array) => Float64Array[],
  inputs: Float64Array[],
  opts: GradCheckOptions = {},
): { analytic: number; numeric: number } {
  const { eps = 1e-6, rtol = 1e-5, atol = 1e-8, seed = 0, probes = 3, name = "vjp" } = opts;
  const rng = new Rng(seed);
  const y = f(inputs);
  const v = rng.fillNormal(new Float64Array(y.length));
  const grads = vjp(inputs, v);
  if (grads.length !== inputs.length) {
    throw new AssertionError({
      message: `${name}: vjp returned ${grads.length} gradients for ${inputs.length} inputs`,
    });
  }
  grads.forEach((g, k) => {
    if (g.length !== inputs[k]!.length) {
      throw new AssertionError({
        message: `${name}: gradient ${k} has length ${g.length}, input has ${inputs[k]!.length}`,
      });
    }
  });
  const close = (a: number, b: number) => Math.abs(a - b) <= atol + rtol * Math.max(Math.abs(a), Math.abs(b));

  // 1. one random direction through every input at once
  const dirs = inputs.map((x) => rng.fillNormal(new Float64Array(x.length)));
  const analytic = grads.reduce((s, g, k) => s + dot(g, dirs[k]!), 0);
  const numeric = (dot(v, f(shifted(inputs, dirs, eps))) - dot(v, f(shifted(inputs, dirs, -eps)))) /
    (2 * eps);
  if (!close(analytic, numeric)) {
    throw new AssertionError({
      message: `${name}: directional derivative mismatch: analytic ${analytic}, numeric ${numeric}`,
    });
  }
  // 2. a few single coordinates per input
  for (let k = 0; k < inputs.length; k++) {
    const n = inputs[k]!.length;
    for (let p = 0; p < Math.min(probes, n); p++) {
      const i = rng.int(n);
      const e = inputs.map((x) => new Float64Array(x.length));
      e[k]![i] = 1;
      const num = (dot(v, f(shifted(inputs, e, eps))) - dot(v, f(shifted(inputs, e, -eps)))) / (2 * eps);
      const ana = grads[k]![i]!;
      if (
        !close(ana, num) && Math.abs(ana - num) > rtol * Math.max(1e-3, Math.abs(analytic) / Math.sqrt(n))
      ) {
        throw new AssertionError({
          message: `${name}: d/d input${k}[${i}] mismatch: analytic ${ana}, numeric ${num}`,
        });
      }
    }
  }
  return { analytic, numeric };
}

/** Check the gradient of a scalar loss: `grad(inputs)` must return dLoss/dInput for each input. */
export function checkGradient(
  loss: (inputs: Float64Array[]) => number,
  grad: (inputs: Float64Array[]) => Float64Array[],
  inputs: Float64Array[],
  opts: GradCheckOptions = {},
): { analytic: number; numeric: number } {
  return checkVjp(
    (x) => Float64Array.of(loss(x)),
    (x, dy) => grad(x).map((g) => g.map((gi) => gi * dy[0]!)),
    inputs,
    { name: "gradient", ...opts },
  );
}
