/**
 * @vlp/train (work in progress).
 *
 * @module
 */
export {};
