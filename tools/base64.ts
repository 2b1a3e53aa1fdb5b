/**
 * Base64 encoding of bytes (the standard alphabet with padding), for tools that embed binaries in source.
 *
 * @module
 */

/** Base64 of the bytes. */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
