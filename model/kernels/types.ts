/**
 * Array types shared by the plain TypeScript kernels: every kernel is generic over float32 and float64
 * storage (float64 for finite-difference gradient checks); integer inputs (token ids, positions) are int32.
 *
 * @module
 */

/** Float storage of a kernel argument. */
export type FloatArray = Float32Array | Float64Array;
