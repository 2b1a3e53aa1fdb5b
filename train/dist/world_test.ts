import assert from "node:assert/strict";
import { runCli } from "@vlp/testing";
import { LocalWorld, openWorld } from "./world.ts";
import { MPI_ENV, mpirunAvailable, runMpi } from "./test_utils.ts";

const PROBE = "train/dist/testdata/world_probe.ts";
const mpi = mpirunAvailable();

Deno.test("LocalWorld: a world of one; collectives leave the buffers as they are", async () => {
  const w = new LocalWorld();
  assert.deepEqual([w.rank, w.size, w.localRank, w.kind], [0, 1, 0, "local"]);
  const b = Float32Array.of(1, 2);
  await w.allreduceSum(b);
  await w.broadcast(b, 0);
  await w.barrier();
  assert.deepEqual([...b], [1, 2]);
  await assert.rejects(w.broadcast(b, 1), /Cannot broadcast from rank 1: a world of one/);
});

Deno.test("openWorld: without mpirun a world of one, MPI never loaded", async () => {
  assert.equal(openWorld().kind, "local");
  const r = await runCli(PROBE, [], { env: { VLP_LIBMPI: "/nonexistent/libmpi.so" } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.json, {
    kind: "local",
    rank: 0,
    size: 1,
    localRank: 0,
    sum: [1, 2, 3, 4, 5],
    big: [1, 1],
    sum64: [0.5, 1e-12],
    bc: [-1, -1],
  });
});

Deno.test({
  name: "MpiWorld: 2 ranks under mpirun: rank/size, in-place float32 and float64 sums, broadcast, barrier",
  ignore: !mpi,
  fn: async () => {
    const r = await runMpi(2, PROBE, []);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).sort((a, b) => a.rank - b.rank);
    assert.equal(lines.length, 2);
    for (const [i, l] of lines.entries()) {
      assert.deepEqual(l, {
        kind: "mpi",
        rank: i,
        size: 2,
        localRank: i,
        sum: [3, 6, 9, 12, 15], // (1 + 2)·(i + 1)
        big: [3, 3],
        sum64: [2, 3e-12],
        bc: [7, 8], // rank 1's values
      });
    }
  },
});

Deno.test({
  name:
    "MpiWorld: sums posted from synchronous code run on the communication thread, in order; views sum their own elements",
  ignore: !mpi,
  fn: async () => {
    const r = await runMpi(2, "train/dist/testdata/overlap_probe.ts", []);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).sort((a, b) => a.rank - b.rank);
    for (const [i, l] of lines.entries()) {
      assert.deepEqual(l, {
        rank: i,
        a: [3, 3],
        b: [30, 30],
        small: 1,
        c: [i + 1, i + 1, i + 1, 3, 3, 3, i + 1, i + 1, i + 1, i + 1],
        x: true,
      });
    }
  },
});

Deno.test({
  name: "MpiWorld: a rank that aborts ends the job (its status), no rank hangs in a collective",
  ignore: !mpi,
  fn: async () => {
    const r = await runMpi(2, PROBE, ["abort"]);
    assert.equal(r.code, 3, r.stderr);
    assert.ok(r.seconds < 30, `${r.seconds} s`);
  },
});

Deno.test({
  name: "Mpi: a library that is not there is a clear error naming it",
  ignore: !mpi,
  fn: async () => {
    const r = await new Deno.Command("mpirun", {
      args: ["-np", "1", Deno.execPath(), "run", "-A", PROBE],
      env: { ...MPI_ENV, VLP_LIBMPI: "/nonexistent/libmpi.so.40" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(r.code, 0);
    assert.match(new TextDecoder().decode(r.stderr), /Cannot load MPI .*\/nonexistent\/libmpi\.so\.40/);
  },
});
