/**
 * @vlp/eval (work in progress).
 *
 * @module
 */
export {};
