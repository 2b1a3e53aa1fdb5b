/**
 * Array types shared by the plain TypeScript kernels: every kernel is generic over float32 and float64
 * storage (float64 for finite-difference gradient checks); integer inputs (token ids, positions) are int32.
 *
 * @module
 */

/** Float storage of a kernel argument. */
export type FloatArray = Float32Array | Float64Array;

/**
 * `x` as an element of `a` would hold it: rounded to float32 for a `Float32Array`, as it is for a
 * `Float64Array`. A float64 partial total is rounded so before it is added to a float32 sum, so that adding two
 * batches' totals into one gradient equals adding their two float32 gradients (as PyTorch accumulates `.grad`,
 * and as the ranks' all-reduce sums them).
 */
export function asElement(a: FloatArray, x: number): number {
  return a instanceof Float32Array ? Math.fround(x) : x;
}
