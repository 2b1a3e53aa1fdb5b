/**
 * The kernel generators' loop unrolling: WGSL lines written out once per index rather than looped over at
 * run time (matmul's accumulators and staging registers, the chunk kernels' column groups); and `indent`,
 * which places a generated block of lines.
 *
 * @module
 */

/** The lines `indent + f(0)` … `indent + f(n − 1)`, joined by newlines. */
export function unroll(n: number, f: (i: number) => string, indent = "  "): string {
  return Array.from({ length: n }, (_, i) => indent + f(i)).join("\n");
}

/** `text` with every non-empty line indented by `pad`. */
export function indent(text: string, pad: string): string {
  return text.split("\n").map((l) => (l ? pad + l : l)).join("\n");
}
