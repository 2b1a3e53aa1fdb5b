/**
 * The ranks of a data-parallel job: {@linkcode World} with two implementations.
 *
 * - {@linkcode LocalWorld}: a world of one (a process started without `mpirun`); every collective is the
 *   identity and MPI is never loaded.
 * - {@linkcode MpiWorld}: Open MPI's `MPI_COMM_WORLD` (mpi.ts). Collectives run one at a time, in the
 *   order they are called, on one communication thread (comm_worker.ts): MPI requires every rank to enter
 *   the collectives of a communicator in the same order, and one thread in MPI at a time is what Open MPI
 *   handles best. The main thread goes on computing meanwhile, and may post a collective from inside
 *   synchronous code (a backward pass): the message reaches the other thread at once.
 *
 * {@linkcode openWorld} picks one: under `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`) MPI, else local.
 *
 * @module
 */
import type { CommReply, CommRequest } from "./comm_worker.ts";
import { Mpi } from "./mpi.ts";

/** The ranks of a job and their collectives. */
export interface World {
  /** this process's rank (0 … size − 1) */
  readonly rank: number;
  /** ranks in the job */
  readonly size: number;
  /** rank among the processes of this machine (picks the GPU adapter) */
  readonly localRank: number;
  /** "local" or "mpi" */
  readonly kind: "local" | "mpi";
  /**
   * In-place sum over the ranks. It starts at once, after the collectives called before it (also when called
   * from synchronous code, e.g. a backward pass: it runs on another thread); the buffer is busy until the
   * promise settles.
   */
  allreduceSum(buf: Float32Array | Float64Array): Promise<void>;
  /** `root`'s buffer copied to every rank, in place. */
  broadcast(buf: Float32Array | Float64Array, root: number): Promise<void>;
  /** Every rank waits until all have arrived. */
  barrier(): Promise<void>;
  /** End the whole job with exit status `code` (MPI_Abort under mpirun). */
  abort(code: number): never;
  /** Shut down (MPI_Finalize) after the last collective. */
  finalize(): Promise<void>;
}

/** A world of one process: collectives do nothing. */
export class LocalWorld implements World {
  readonly rank = 0;
  readonly size = 1;
  readonly localRank = 0;
  readonly kind = "local";
  allreduceSum(_buf: Float32Array | Float64Array): Promise<void> {
    return Promise.resolve();
  }
  broadcast(_buf: Float32Array | Float64Array, root: number): Promise<void> {
    if (root !== 0) {
      return Promise.reject(new RangeError(`Cannot broadcast from rank ${root}: a world of one`));
    }
    return Promise.resolve();
  }
  barrier(): Promise<void> {
    return Promise.resolve();
  }
  abort(code: number): never {
    Deno.exit(code);
  }
  finalize(): Promise<void> {
    return Promise.resolve();
  }
}

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
  /** the buffer the other thread works on, referenced until the reply */
  buf?: Float32Array | Float64Array;
}

/** Open MPI's world (see the module doc). */
export class MpiWorld implements World {
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly kind = "mpi";
  readonly mpi: Mpi;
  #comm: Worker | null = null;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #failure: Error | null = null;
  #last: Promise<void> = Promise.resolve();

  constructor(mpi: Mpi, localRank: number) {
    this.mpi = mpi;
    this.rank = mpi.rank();
    this.size = mpi.size();
    this.localRank = localRank;
  }

  #worker(): Worker {
    if (this.#comm) return this.#comm;
    const w = new Worker(new URL("./comm_worker.ts", import.meta.url).href, { type: "module" });
    w.onmessage = (e: MessageEvent<CommReply>) => {
      const p = this.#pending.get(e.data.id);
      if (!p) return;
      this.#pending.delete(e.data.id);
      if (e.data.error) p.reject(new Error(e.data.error));
      else p.resolve();
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#failure = new Error(`The MPI communication thread failed: ${e.message}`);
      for (const p of this.#pending.values()) p.reject(this.#failure);
      this.#pending.clear();
    };
    return (this.#comm = w);
  }

  #post(req: DistributiveOmit<CommRequest, "id">, user?: Float32Array | Float64Array): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    // V8 keeps small typed arrays inside its heap, where the collector may move them: those travel through
    // a staging copy in an ArrayBuffer of their own (whose memory never moves)
    const staged = user && user.byteLength <= SMALL ? stage(user) : user;
    if (staged && "address" in req) Object.assign(req, where(staged));
    const p = new Promise<void>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: () => {
          if (staged !== user) user!.set(staged!);
          resolve();
        },
        reject,
        buf: staged,
      });
      this.#worker().postMessage({ ...req, id } as CommRequest);
    });
    this.#last = p.catch(() => {});
    return p;
  }

  allreduceSum(buf: Float32Array | Float64Array): Promise<void> {
    if (buf.length === 0) return Promise.resolve();
    return this.#post({ op: "allreduce", ...where(buf) }, buf);
  }
  broadcast(buf: Float32Array | Float64Array, root: number): Promise<void> {
    if (!(Number.isInteger(root) && root >= 0 && root < this.size)) {
      return Promise.reject(new RangeError(`Cannot broadcast from rank ${root}: the world has ${this.size}`));
    }
    if (buf.length === 0) return Promise.resolve();
    return this.#post({ op: "bcast", ...where(buf), root }, buf);
  }
  barrier(): Promise<void> {
    return this.#post({ op: "barrier" });
  }
  abort(code: number): never {
    return this.mpi.abort(code);
  }
  async finalize(): Promise<void> {
    await this.#last; // replies come in order: the last one settles after all others
    this.#comm?.terminate();
    this.#comm = null;
    this.mpi.finalize();
  }
}

const SMALL = 4096;

function stage(a: Float32Array | Float64Array): Float32Array | Float64Array {
  const copy = a instanceof Float32Array
    ? new Float32Array(new ArrayBuffer(a.byteLength))
    : new Float64Array(new ArrayBuffer(a.byteLength));
  copy.set(a);
  return copy;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function where(buf: Float32Array | Float64Array) {
  const p = Deno.UnsafePointer.of(buf as Float32Array<ArrayBuffer>);
  return {
    address: Deno.UnsafePointer.value(p) as bigint,
    count: buf.length,
    dtype: buf instanceof Float32Array ? "float32" as const : "float64" as const,
  };
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Whether this process was started by Open MPI's `mpirun` (it sets `OMPI_COMM_WORLD_SIZE`). */
export function underMpirun(): boolean {
  return env("OMPI_COMM_WORLD_SIZE") !== undefined;
}

/** The world of this process: MPI's under `mpirun`, else a {@linkcode LocalWorld} (MPI not loaded). */
export function openWorld(): World {
  if (!underMpirun()) return new LocalWorld();
  const world = new MpiWorld(Mpi.init(), Number(env("OMPI_COMM_WORLD_LOCAL_RANK") ?? 0));
  const expected = Number(env("OMPI_COMM_WORLD_SIZE"));
  if (world.size !== expected) {
    throw new Error(
      `MPI reports ${world.size} ranks but mpirun set OMPI_COMM_WORLD_SIZE=${expected}: ` +
        `is libmpi the library of the mpirun that started this process?`,
    );
  }
  return world;
}
