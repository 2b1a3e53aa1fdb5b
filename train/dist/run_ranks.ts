/**
 * A command's `main` on every rank of the job (`mpirun -np N deno task train ...`, or one process).
 *
 * One process: a failure takes `startCommand`'s usual way (one line, exit 1 or 2). Across ranks no rank may be
 * left waiting in a collective, so a failing rank prints its line with its rank and ends the whole job
 * (`MPI_Abort`, as the original's DDP processes end when one of them raises).
 *
 * @module
 */
import { failureText, UsageError } from "@vlp/command";
import { openWorld, type World } from "./world.ts";

/** Runs `main(flags, world)` in this process's world, then finalises it. */
export async function runOnEveryRank<F>(
  name: string,
  flags: F,
  main: (flags: F, world: World) => Promise<void>,
): Promise<void> {
  const world = openWorld();
  try {
    await main(flags, world);
  } catch (e) {
    if (world.size === 1) throw e;
    console.error(`${name}: rank ${world.rank}: ${failureText(e)}`);
    world.abort(e instanceof UsageError ? 2 : 1);
  }
  await world.finalize();
}
