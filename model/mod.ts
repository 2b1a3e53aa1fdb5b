/**
 * @vlp/model (work in progress).
 *
 * @module
 */
export {};
