/**
 * The communication thread of an {@linkcode MpiWorld} (world.ts): a Worker that attaches to the MPI library
 * the main thread initialised and runs every collective, one at a time, in the order the main thread posted
 * them. Buffers travel as raw addresses of the main thread's memory (which it leaves alone until the reply).
 *
 * @module
 */
import { Mpi } from "./mpi.ts";

/** A collective to run. */
export type CommRequest =
  & { id: number }
  & (
    | { op: "allreduce"; address: bigint; count: number; dtype: "float32" | "float64" }
    | { op: "bcast"; address: bigint; count: number; dtype: "float32" | "float64"; root: number }
    | { op: "barrier" }
  );

/** Its outcome. */
export interface CommReply {
  id: number;
  /** the error's message when the call failed */
  error?: string;
}

const self = globalThis as unknown as {
  onmessage: ((e: MessageEvent<CommRequest>) => void) | null;
  postMessage(m: CommReply): void;
};

let mpi: Mpi | null = null;

self.onmessage = (e: MessageEvent<CommRequest>) => {
  const r = e.data;
  try {
    mpi ??= Mpi.attach();
    if (r.op === "allreduce") mpi.allreduceSumAt(r.address, r.count, r.dtype);
    else if (r.op === "bcast") mpi.bcastAt(r.address, r.count, r.dtype, r.root);
    else mpi.barrier();
    self.postMessage({ id: r.id });
  } catch (err) {
    self.postMessage({ id: r.id, error: (err as Error).message });
  }
};
