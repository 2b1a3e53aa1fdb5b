import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";

const CLI = new URL("./parity.ts", import.meta.url).pathname;

async function run(
  ...args: string[]
): Promise<{ code: number; last: Record<string, unknown> | null; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  const lastLine = lines.at(-1) ?? "";
  return {
    code: out.code,
    last: lastLine ? JSON.parse(lastLine) : null,
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("parity CLI: vlp-tiny passes every check and ends with one JSON line", async () => {
  const r = await run("--fixture", fixturePath("fixtures/vlp-tiny"), "--backend", "blas");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.last!.failed, 0);
  assert.ok((r.last!.checked as number) >= 62);
  const checks = r.last!.checks as Record<string, { pass: boolean; maxAbs: number }>;
  assert.equal(checks["grads_s2s:bert.pooler.dense.weight"], undefined); // not in the fixture: no gradient
  assert.equal(checks["sequence_output_s2s"].pass, true);
  for (
    const k of [
      "decode_greedy_ids",
      "decode_greedy_scores",
      "decode_beam5_ids",
      "decode_beam3_lp1_noreps_min5_ids",
    ]
  ) {
    assert.equal(checks[k]?.pass, true, k);
  }
  assert.match(r.stderr, /ok +mlm_loss_s2s_drop0\.2:/);
});

Deno.test("parity CLI: bad usage exits 2, an unreadable fixture fails with exit 1", async () => {
  assert.equal((await run()).code, 2);
  assert.equal((await run("--fixture", "x", "--backend", "gpu")).code, 2);
  const r = await run("--fixture", fixturePath("fixtures/does-not-exist"), "--backend", "reference");
  assert.equal(r.code, 1);
  // one failed check per member
  assert.deepEqual(Object.keys(r.last!.checks as object), ["model:error", "decode:error"]);
  assert.deepEqual([r.last!.checked, r.last!.failed], [2, 2]);
});
