/**
 * Running a script of the repository under Open MPI's `mpirun` in the tests: N ranks on this machine
 * (`--oversubscribe`, allowed as root), one BLAS thread per rank, stdout and stderr captured; and
 * {@linkcode localRanks}, N ranks in one process. Not exported by the member.
 *
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

import type { World } from "./world.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Whether `mpirun` can be started; with `VLP_REQUIRE_MPI=1` (CI) a missing one is an error. */
export function mpirunAvailable(): boolean {
  let ok = false;
  try {
    ok = new Deno.Command("mpirun", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    ok = false;
  }
  if (!ok && Deno.env.get("VLP_REQUIRE_MPI") === "1") {
    throw new Error("VLP_REQUIRE_MPI=1 but mpirun (Debian package openmpi-bin) cannot be started");
  }
  return ok;
}

/** The environment every rank gets: root allowed, one BLAS thread, no colour. */
export const MPI_ENV: Record<string, string> = {
  OMPI_ALLOW_RUN_AS_ROOT: "1",
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1",
  OMPI_MCA_rmaps_base_oversubscribe: "1",
  VLP_BLAS_THREADS: "1",
  NO_COLOR: "1",
};

/** `mpirun -np N deno run -A <script> ...args` (script relative to the repository root). */
export function mpirunCommand(np: number, script: string, args: readonly string[]): Deno.Command {
  return new Deno.Command("mpirun", {
    args: [
      "--oversubscribe",
      "-np",
      String(np),
      Deno.execPath(),
      "run",
      "-A",
      resolve(ROOT, script),
      ...args,
    ],
    cwd: ROOT,
    env: MPI_ENV,
    stdout: "piped",
    stderr: "piped",
  });
}

/**
 * The CLI contract's form: `mpirun --allow-run-as-root --oversubscribe -np N npx deno task TASK ...args`
 * (npx starts Deno, `deno task` the script: every rank is a grandchild of mpirun).
 */
export async function runMpiTask(np: number, task: string, args: readonly string[]): Promise<MpiResult> {
  const t0 = performance.now();
  const out = await new Deno.Command("mpirun", {
    args: ["--allow-run-as-root", "--oversubscribe", "-np", String(np), "npx", "deno", "task", task, ...args],
    cwd: ROOT,
    env: { VLP_BLAS_THREADS: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** What an mpirun job gave. */
export interface MpiResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Run a script on N ranks to its end. */
export async function runMpi(np: number, script: string, args: readonly string[]): Promise<MpiResult> {
  const t0 = performance.now();
  const out = await mpirunCommand(np, script, args).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * N ranks in one process (the tests' stand-in for MPI): the k-th collective of every rank meets the k-th of
 * the others; a sum is taken once all have arrived, and every rank's buffer receives it.
 */
export function localRanks(size: number): World[] {
  const rounds: { bufs: (Float32Array | Float64Array)[]; done: () => void; wait: Promise<void> }[] = [];
  const counters = new Array(size).fill(0);
  const meet = (rank: number, buf: Float32Array | Float64Array, combine: (bufs: typeof buf[]) => void) => {
    const k = counters[rank]++;
    if (!rounds[k]) {
      let done!: () => void;
      const wait = new Promise<void>((r) => (done = r));
      rounds[k] = { bufs: [], done, wait };
    }
    const round = rounds[k];
    round.bufs[rank] = buf;
    if (Object.keys(round.bufs).length === size) {
      combine(round.bufs);
      round.done();
    }
    return round.wait;
  };
  return Array.from({ length: size }, (_, rank): World => ({
    rank,
    size,
    localRank: rank,
    kind: "mpi",
    allreduceSum: (buf) =>
      meet(rank, buf, (bufs) => {
        const sum = new Float64Array(buf.length);
        for (const b of bufs) b.forEach((v, i) => (sum[i] += v));
        for (const b of bufs) b.set(sum);
      }),
    broadcast: (buf, root) => meet(rank, buf, (bufs) => bufs.forEach((b) => b.set(bufs[root]))),
    barrier: () => meet(rank, new Float64Array(0), () => {}),
    abort: () => {
      throw new Error("abort");
    },
    finalize: () => Promise.resolve(),
  }));
}
