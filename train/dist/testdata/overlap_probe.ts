// Run under mpirun by world_test.ts: sums posted from synchronous code run while it computes.
import { openWorld } from "../world.ts";

const world = openWorld();
const r = world.rank;
const a = new Float32Array(1000).fill(r + 1), b = new Float32Array(5000).fill(10 * (r + 1));
const pa = world.allreduceSum(a);
let x = 0;
for (let i = 0; i < 1e7; i++) x += Math.sqrt(i); // compute while the first sum progresses
const pb = world.allreduceSum(b);
const small = Float64Array.of(r);
const pc = world.allreduceSum(small); // a queued collective after the started ones
const c = new Float32Array(10).fill(r + 1);
const pd = world.allreduceSum(c.subarray(3, 6)); // a view: its own elements only
await Promise.all([pa, pb, pc, pd]);
console.log(
  JSON.stringify({ rank: r, a: [a[0], a[999]], b: [b[0], b[4999]], small: small[0], c: [...c], x: x > 0 }),
);
await world.finalize();
