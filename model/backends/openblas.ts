/**
 * OpenBLAS through `Deno.dlopen`: `cblas_sgemm`, `cblas_sgemv` and the thread-count controls. The library is found by
 * name (`libopenblas.so.0`, Debian's `libopenblas0-pthread`; `libopenblas.dylib` / `libopenblas.dll`
 * elsewhere) or by the path in `VLP_OPENBLAS`. Needs `--allow-ffi` (and `--allow-env` for the variables).
 *
 * Kernels: OpenBLAS picks its kernels by CPU model when it is loaded. OpenBLAS 0.3.21 (Debian 12's) does not
 * know AMD Zen 5 and gives it its AVX2 kernels (`Haswell`), though the CPU has AVX-512; its AVX-512 kernels
 * (`SkylakeX`) are 1.5–1.8× faster there on the detector's and the model's products. So on an AMD CPU whose
 * flags include AVX-512 F, BW, CD, DQ and VL, `OPENBLAS_CORETYPE=SKYLAKEX` is set before loading
 * ({@linkcode preferredCoreType}) unless `OPENBLAS_CORETYPE` is already set; {@linkcode openBlasCoreName} tells
 * which kernels run.
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
  openblas_get_corename: { parameters: [], result: "pointer" },
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

/** The AVX-512 flags OpenBLAS's SkylakeX kernels need. */
const AVX512 = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];

/**
 * The `OPENBLAS_CORETYPE` to ask for on a CPU described by `/proc/cpuinfo` text: `SKYLAKEX` for an AMD CPU
 * with the AVX-512 flags of {@linkcode AVX512} (OpenBLAS's own choice there may be its AVX2 kernels), else
 * null (OpenBLAS's choice stands).
 */
export function preferredCoreType(cpuinfo: string): string | null {
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(cpuinfo)?.[1];
  const flags = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/) ?? []);
  return vendor === "AuthenticAMD" && AVX512.every((f) => flags.has(f)) ? "SKYLAKEX" : null;
}

/** Set `OPENBLAS_CORETYPE` from {@linkcode preferredCoreType} when it is unset (Linux; silent without permissions). */
function chooseCoreType(): void {
  if (Deno.build.os !== "linux") return;
  try {
    // never a permission prompt: only with the permissions already granted
    const granted = (d: Deno.PermissionDescriptor) => Deno.permissions.querySync(d).state === "granted";
    if (!granted({ name: "env", variable: "OPENBLAS_CORETYPE" })) return;
    if (!granted({ name: "read", path: "/proc/cpuinfo" })) return;
    if (Deno.env.get("OPENBLAS_CORETYPE")) return;
    const want = preferredCoreType(Deno.readTextFileSync("/proc/cpuinfo"));
    if (want) Deno.env.set("OPENBLAS_CORETYPE", want);
  } catch {
    // no --allow-env or --allow-read: OpenBLAS chooses
  }
}

/** The kernels the loaded OpenBLAS runs (`openblas_get_corename()`, e.g. "Haswell", "SkylakeX"), or null. */
export function openBlasCoreName(): string | null {
  const lib = loadOpenBlas().lib;
  const p = lib?.openblas_get_corename();
  return p ? Deno.UnsafePointerView.getCString(p) : null;
}

/**
 * Load OpenBLAS once per process. Returns the functions, or null with the reason in `error` (missing
 * library, no FFI permission).
 */
export function loadOpenBlas(): { lib: OpenBlas | null; error: string } {
  if (cached) return cached;
  const errors: string[] = [];
  chooseCoreType();
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
