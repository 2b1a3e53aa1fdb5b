import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { createBackend } from "@vlp/model";
import { decodeParityChecks } from "./parity.ts";

// vlp-wide on reference here; on blas and webgpu through the parity CLI (cli/parity_backends_test.ts)
for (
  const [fixture, name] of [["vlp-tiny", "reference"], ["vlp-tiny", "blas"], [
    "vlp-wide",
    "reference",
  ]] as const
) {
  Deno.test(`decode parity with the original on ${fixture} (${name} backend): greedy, beam5, beam3+lp+noreps+min5`, async () => {
    const checks = await decodeParityChecks(fixturePath(`fixtures/${fixture}`), createBackend(name));
    const names = checks.map((c) => c.name);
    for (
      const k of [
        "decode_input_ids",
        "decode_segment_ids",
        "decode_position_ids",
        "decode_attention_mask",
        "decode_greedy_ids",
        "decode_greedy_scores",
        "decode_beam5_ids",
        "decode_beam3_lp1_noreps_min5_ids",
      ]
    ) assert.ok(names.includes(k), `missing check ${k}`);
    const failed = checks.filter((c) => !c.pass);
    assert.deepEqual(failed, [], JSON.stringify(failed));
  });
}
