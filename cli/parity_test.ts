import assert from "node:assert/strict";
import { fixturePath, runCli } from "@vlp/testing";

const run = (...args: string[]) => runCli("cli/parity.ts", args);

Deno.test("parity CLI: bad usage exits 2, an unreadable fixture fails with exit 1", async () => {
  assert.equal((await run()).code, 2);
  assert.equal((await run("--fixture", "x", "--backend", "gpu")).code, 2);
  const r = await run("--fixture", fixturePath("fixtures/does-not-exist"), "--backend", "reference");
  assert.equal(r.code, 1);
  // one failed check per member
  assert.deepEqual(Object.keys(r.json.checks as object), ["model:error", "decode:error", "train:error"]);
  assert.deepEqual([r.json.checked, r.json.failed], [3, 3]);
});

for (const fixture of ["vlp-tiny", "vlp-wide"]) {
  Deno.test(`parity CLI --engine onnx: exports ${fixture} into an empty directory and passes through ONNX Runtime`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "vlp-parity-onnx-" });
    try {
      const r = await run(
        "--fixture",
        fixturePath(`fixtures/${fixture}`),
        "--engine",
        "onnx",
        "--onnx_dir",
        dir,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.engine, "onnx");
      assert.equal(r.json.failed, 0);
      const checks = r.json.checks as Record<string, { pass: boolean }>;
      // the onnx member's checks, and decode's greedy and beam searches on the onnx engine
      for (
        const k of [
          "sequence_output_s2s",
          "mlm_scores_s2s",
          "vqa_logits",
          "decode_greedy_ids",
          "decode_beam5_ids",
        ]
      ) {
        assert.equal(checks[k]?.pass, true, k);
      }
      assert.match(r.stderr, /exporting .*model\.bin/);
      assert.equal((await run("--fixture", fixturePath(`fixtures/${fixture}`), "--engine", "onnx")).code, 2);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
