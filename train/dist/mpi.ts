/**
 * Open MPI 4.1 through `Deno.dlopen`: the few calls data-parallel training needs (`MPI_Init_thread`,
 * `MPI_Comm_rank`/`_size`, in-place float32 `MPI_Allreduce` with `MPI_SUM`, `MPI_Bcast`, `MPI_Barrier`,
 * `MPI_Abort`, `MPI_Finalize`).
 *
 * - The library is `libmpi.so.40` (Debian's `libopenmpi3`) or the path in `VLP_LIBMPI`. It is opened first
 *   through libc's `dlopen` with `RTLD_GLOBAL`: Open MPI's plug-ins (`mca_*.so`) resolve their symbols
 *   against it, which a local (Deno's default) load would hide.
 * - Handles are not integers in Open MPI: `MPI_COMM_WORLD`, `MPI_FLOAT`, `MPI_SUM`, `MPI_ERRORS_RETURN` are
 *   the addresses of exported globals (`mpi.h`: `OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)`),
 *   so they are resolved with `dlsym`. `MPI_IN_PLACE` is `(void *) 1`.
 * - Errors: the world communicator is switched to `MPI_ERRORS_RETURN`, and a return code other than
 *   `MPI_SUCCESS` becomes an {@linkcode MpiError} naming the call and carrying `MPI_Error_string`'s text.
 * - Threads: the main thread initialises MPI (`MPI_THREAD_MULTIPLE` requested, the level granted kept in
 *   {@linkcode Mpi.threadLevel}); the collectives then run on one communication thread (a Worker that
 *   {@linkcode Mpi.attach}es to the initialised library, comm_worker.ts) and take raw addresses, so the
 *   main thread may hand it a buffer from inside synchronous code. `MPI_Abort` may come from any thread.
 *
 * @module
 */

/** `MPI_THREAD_*` of `mpi.h`. */
export const MPI_THREAD = { SINGLE: 0, FUNNELED: 1, SERIALIZED: 2, MULTIPLE: 3 } as const;

const RTLD_NOW = 2, RTLD_GLOBAL = 0x100;

const LIBC = {
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  dlerror: { parameters: [], result: "pointer" },
} as const;

const SYMBOLS = {
  MPI_Initialized: { parameters: ["buffer"], result: "i32" },
  MPI_Init_thread: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
  MPI_Comm_rank: { parameters: ["pointer", "buffer"], result: "i32" },
  MPI_Comm_size: { parameters: ["pointer", "buffer"], result: "i32" },
  MPI_Comm_set_errhandler: { parameters: ["pointer", "pointer"], result: "i32" },
  MPI_Error_string: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  MPI_Allreduce: {
    parameters: ["pointer", "buffer", "i32", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  /** at a raw address (the communication thread's buffers belong to the main thread) */
  MPI_Allreduce_at: {
    name: "MPI_Allreduce",
    parameters: ["pointer", "pointer", "i32", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  MPI_Bcast: { parameters: ["buffer", "i32", "pointer", "i32", "pointer"], result: "i32" },
  MPI_Bcast_at: {
    name: "MPI_Bcast",
    parameters: ["pointer", "i32", "pointer", "i32", "pointer"],
    result: "i32",
  },
  MPI_Barrier: { parameters: ["pointer"], result: "i32" },
  MPI_Abort: { parameters: ["pointer", "i32"], result: "i32" },
  MPI_Finalize: { parameters: [], result: "i32" },
} as const;

type MpiSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** An MPI call that returned an error code. */
export class MpiError extends Error {
  constructor(readonly call: string, readonly code: number, detail: string) {
    super(`${call} failed with MPI error ${code}${detail ? `: ${detail}` : ""}`);
    this.name = "MpiError";
  }
}

const cstr = (s: string) => new TextEncoder().encode(s + "\0");

function libraryNames(): string[] {
  let env: string | undefined;
  try {
    env = Deno.env.get("VLP_LIBMPI");
  } catch {
    env = undefined;
  }
  return env ? [env] : ["libmpi.so.40", "libmpi.so"];
}

/** The loaded library, its predefined handles, and the calls with their error checks. */
export class Mpi {
  readonly #f: MpiSymbols;
  readonly #world: Deno.PointerValue;
  readonly #float: Deno.PointerValue;
  readonly #double: Deno.PointerValue;
  readonly #sum: Deno.PointerValue;
  readonly #inPlace: Deno.PointerValue = Deno.UnsafePointer.create(1n);
  /** the library that was opened */
  readonly library: string;
  /** the thread level MPI_Init_thread granted */
  readonly threadLevel: number;
  #finalized = false;

  private constructor(
    library: string,
    f: MpiSymbols,
    handles: Record<string, Deno.PointerValue>,
    init: boolean,
  ) {
    this.library = library;
    this.#f = f;
    this.#world = handles.ompi_mpi_comm_world;
    this.#float = handles.ompi_mpi_float;
    this.#double = handles.ompi_mpi_double;
    this.#sum = handles.ompi_mpi_op_sum;
    if (!init) {
      this.threadLevel = -1;
      return;
    }
    const provided = new Int32Array(1);
    this.#check("MPI_Init_thread", f.MPI_Init_thread(null, null, MPI_THREAD.MULTIPLE, provided));
    this.threadLevel = provided[0];
    this.#check(
      "MPI_Comm_set_errhandler",
      f.MPI_Comm_set_errhandler(this.#world, handles.ompi_mpi_errors_return),
    );
  }

  /** Open the library, resolve the handles and call `MPI_Init_thread` (once per process). */
  static init(): Mpi {
    return Mpi.#open(true);
  }

  /** The library of a process whose main thread has called {@linkcode Mpi.init} (from a Worker). */
  static attach(): Mpi {
    return Mpi.#open(false);
  }

  static #open(init: boolean): Mpi {
    const errors: string[] = [];
    let libc: Deno.DynamicLibrary<typeof LIBC>;
    try {
      libc = Deno.dlopen(Deno.build.os === "linux" ? "libc.so.6" : "libc.dylib", LIBC);
    } catch (e) {
      throw new Error(`Cannot load MPI: cannot open libc for dlopen: ${(e as Error).message}`);
    }
    const dlerror = () => {
      const p = libc.symbols.dlerror();
      return p ? new Deno.UnsafePointerView(p).getCString() : "unknown error";
    };
    for (const name of libraryNames()) {
      const handle = libc.symbols.dlopen(cstr(name), RTLD_NOW | RTLD_GLOBAL);
      if (!handle) {
        errors.push(`${name}: ${dlerror()}`);
        continue;
      }
      const handles: Record<string, Deno.PointerValue> = {};
      for (
        const s of [
          "ompi_mpi_comm_world",
          "ompi_mpi_float",
          "ompi_mpi_double",
          "ompi_mpi_op_sum",
          "ompi_mpi_errors_return",
        ]
      ) {
        const p = libc.symbols.dlsym(handle, cstr(s));
        if (!p) {
          throw new Error(`Cannot load MPI: "${name}" has no symbol ${s} (is it Open MPI 4?)`);
        }
        handles[s] = p;
      }
      const dl = Deno.dlopen(name, SYMBOLS);
      return new Mpi(name, dl.symbols, handles, init);
    }
    throw new Error(
      `Cannot load MPI (Open MPI's libmpi.so.40, Debian package libopenmpi3): ${errors.join("; ")}`,
    );
  }

  #check(call: string, code: number): void {
    if (code === 0) return;
    let detail = "";
    try {
      const buf = new Uint8Array(256), len = new Int32Array(1);
      if (this.#f.MPI_Error_string(code, buf, len) === 0) {
        detail = new TextDecoder().decode(buf.subarray(0, Math.min(len[0], 256)));
      }
    } catch {
      // no text: the code alone
    }
    throw new MpiError(call, code, detail);
  }

  /** `MPI_Comm_rank(MPI_COMM_WORLD)`. */
  rank(): number {
    const out = new Int32Array(1);
    this.#check("MPI_Comm_rank", this.#f.MPI_Comm_rank(this.#world, out));
    return out[0];
  }

  /** `MPI_Comm_size(MPI_COMM_WORLD)`. */
  size(): number {
    const out = new Int32Array(1);
    this.#check("MPI_Comm_size", this.#f.MPI_Comm_size(this.#world, out));
    return out[0];
  }

  /** In-place `MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT|MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD)`. */
  allreduceSum(buf: Float32Array | Float64Array): void {
    const type = buf instanceof Float32Array ? this.#float : this.#double;
    this.#check(
      "MPI_Allreduce",
      this.#f.MPI_Allreduce(this.#inPlace, buf, buf.length, type, this.#sum, this.#world),
    );
  }

  /** In-place sum of `count` elements at a raw address (`dtype` float32 or float64). */
  allreduceSumAt(address: bigint, count: number, dtype: "float32" | "float64"): void {
    const type = dtype === "float32" ? this.#float : this.#double;
    const buf = Deno.UnsafePointer.create(address);
    this.#check(
      "MPI_Allreduce",
      this.#f.MPI_Allreduce_at(this.#inPlace, buf, count, type, this.#sum, this.#world),
    );
  }

  /** `MPI_Bcast(buf, n, MPI_FLOAT|MPI_DOUBLE, root, MPI_COMM_WORLD)`. */
  bcast(buf: Float32Array | Float64Array, root: number): void {
    const type = buf instanceof Float32Array ? this.#float : this.#double;
    this.#check("MPI_Bcast", this.#f.MPI_Bcast(buf, buf.length, type, root, this.#world));
  }

  /** {@linkcode Mpi.bcast} of `count` elements at a raw address. */
  bcastAt(address: bigint, count: number, dtype: "float32" | "float64", root: number): void {
    const type = dtype === "float32" ? this.#float : this.#double;
    const buf = Deno.UnsafePointer.create(address);
    this.#check("MPI_Bcast", this.#f.MPI_Bcast_at(buf, count, type, root, this.#world));
  }

  /** `MPI_Barrier(MPI_COMM_WORLD)`. */
  barrier(): void {
    this.#check("MPI_Barrier", this.#f.MPI_Barrier(this.#world));
  }

  /** `MPI_Abort(MPI_COMM_WORLD, code)`: ends every rank of the job (does not return). */
  abort(code: number): never {
    this.#f.MPI_Abort(this.#world, code);
    Deno.exit(code);
  }

  /** `MPI_Finalize` (once). */
  finalize(): void {
    if (this.#finalized) return;
    this.#finalized = true;
    this.#check("MPI_Finalize", this.#f.MPI_Finalize());
  }
}
