// Run under mpirun by world_test.ts: every rank prints one JSON line of what its collectives gave.
import { openWorld } from "../world.ts";

const world = openWorld();
const r = world.rank;
const sum = Float32Array.from({ length: 5 }, (_, i) => (r + 1) * (i + 1));
await world.allreduceSum(sum);
const big = new Float32Array(3_000_001).fill(r + 1);
const bigDone = world.allreduceSum(big); // queued: runs on an FFI thread
const sum64 = Float64Array.of(r + 0.5, 1e-12 * (r + 1));
const sum64Done = world.allreduceSum(sum64);
const bc = Float32Array.of(r === 1 ? 7 : -1, r === 1 ? 8 : -1);
await Promise.all([bigDone, sum64Done, world.broadcast(bc, Math.min(1, world.size - 1))]);
await world.barrier();
console.log(JSON.stringify({
  kind: world.kind,
  rank: r,
  size: world.size,
  localRank: world.localRank,
  sum: [...sum],
  big: [big[0], big[big.length - 1]],
  sum64: [...sum64],
  bc: [...bc],
}));
if (Deno.args[0] === "abort" && r === 1) world.abort(3);
if (Deno.args[0] === "abort") await world.barrier(); // rank 0 would hang here without MPI_Abort
await world.finalize();
