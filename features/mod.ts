/**
 * @vlp/features (work in progress).
 *
 * @module
 */
export {};
