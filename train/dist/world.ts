/**
 * The ranks of a data-parallel job: {@linkcode World} with two implementations.
 *
 * - {@linkcode LocalWorld}: a world of one (a process started without `mpirun`); every collective is the
 *   identity and MPI is never loaded.
 * - {@linkcode MpiWorld}: Open MPI's `MPI_COMM_WORLD` (mpi.ts). Collectives run one at a time, in the
 *   order they are called, on Deno's FFI threads: MPI requires every rank to enter the collectives of a
 *   communicator in the same order, so a queue serialises them, while the main thread goes on computing.
 *
 * {@linkcode openWorld} picks one: under `mpirun` (Open MPI sets `OMPI_COMM_WORLD_SIZE`) MPI, else local.
 *
 * @module
 */
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
  /** In-place sum over the ranks (queued behind earlier collectives; the buffer is busy until it settles). */
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

/** Open MPI's world (see the module doc). */
export class MpiWorld implements World {
  readonly rank: number;
  readonly size: number;
  readonly localRank: number;
  readonly kind = "mpi";
  readonly mpi: Mpi;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(mpi: Mpi, localRank: number) {
    this.mpi = mpi;
    this.rank = mpi.rank();
    this.size = mpi.size();
    this.localRank = localRank;
  }

  /** Run `op` after every collective queued before it. */
  #enqueue<T>(op: () => Promise<T> | T): Promise<T> {
    const p = this.#queue.then(op);
    this.#queue = p.catch(() => {});
    return p;
  }

  allreduceSum(buf: Float32Array | Float64Array): Promise<void> {
    return this.#enqueue(() => this.mpi.allreduceSumAsync(buf));
  }
  broadcast(buf: Float32Array | Float64Array, root: number): Promise<void> {
    if (!(Number.isInteger(root) && root >= 0 && root < this.size)) {
      return Promise.reject(new RangeError(`Cannot broadcast from rank ${root}: the world has ${this.size}`));
    }
    return this.#enqueue(() => this.mpi.bcast(buf, root));
  }
  barrier(): Promise<void> {
    return this.#enqueue(() => this.mpi.barrier());
  }
  abort(code: number): never {
    return this.mpi.abort(code);
  }
  async finalize(): Promise<void> {
    await this.#enqueue(() => {});
    this.mpi.finalize();
  }
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
