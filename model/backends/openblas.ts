/**
 * OpenBLAS through `Deno.dlopen`: `cblas_sgemm`, `cblas_sgemv` and the thread-count controls. The library is found by
 * name (`libopenblas.so.0`, Debian's `libopenblas0-pthread`; `libopenblas.dylib` / `libopenblas.dll`
 * elsewhere) or by the path in `VLP_OPENBLAS`. Needs `--allow-ffi` (and `--allow-env` for the variables).
 *
 * @module
 */

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  cblas_sgemv: {
    parameters: ["i32", "i32", "i32", "i32", "f32", "buffer", "i32", "buffer", "i32", "f32", "buffer", "i32"],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_num_threads: { parameters: [], result: "i32" },
} as const;

/** The loaded library's functions. */
export type OpenBlas = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** cblas enum values. */
export const CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112;

let cached: { lib: OpenBlas | null; error: string } | null = null;

function candidates(): string[] {
  let env: string | undefined;
  try {
    env = Deno.env.get("VLP_OPENBLAS");
  } catch {
    env = undefined;
  }
  if (env) return [env];
  switch (Deno.build.os) {
    case "darwin":
      return ["libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib"];
    case "windows":
      return ["libopenblas.dll"];
    default:
      return ["libopenblas.so.0", "libopenblas.so"];
  }
}

/**
 * Load OpenBLAS once per process. Returns the functions, or null with the reason in `error` (missing
 * library, no FFI permission).
 */
export function loadOpenBlas(): { lib: OpenBlas | null; error: string } {
  if (cached) return cached;
  const errors: string[] = [];
  for (const name of candidates()) {
    try {
      const dl = Deno.dlopen(name, SYMBOLS);
      cached = { lib: dl.symbols, error: "" };
      return cached;
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message}`);
    }
  }
  cached = { lib: null, error: errors.join("; ") };
  return cached;
}
