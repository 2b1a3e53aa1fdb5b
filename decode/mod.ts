/**
 * @vlp/decode (work in progress).
 *
 * @module
 */
export {};
