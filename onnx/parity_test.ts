import assert from "node:assert/strict";
import { join } from "node:path";
import { endedPid, fixturePath } from "@vlp/testing";
import { onnxParityChecks } from "./parity.ts";

Deno.test({
  name: "vlp-tiny through ONNX Runtime: forward, VQA and greedy decoding equal the original's",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "vlp-onnx-parity-" });
    try {
      // a temporary file a killed export left does not make the folder someone else's
      await Deno.writeTextFile(join(dir, `.encoder.onnx.tmp-${await endedPid()}-0badf00d`), "half a graph");
      const checks = await onnxParityChecks(fixturePath("fixtures/vlp-tiny"), dir, { threads: 1 });
      const names = checks.map((c) => c.name).sort();
      assert.deepEqual(names, [
        "decode_greedy_ids",
        "decode_greedy_scores",
        "mlm_scores_s2s",
        "pooled_output_bi",
        "pooled_output_s2s",
        "sequence_output_bi",
        "sequence_output_s2s",
        "vqa_logits",
        "vqa_pred_idx",
      ]);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
        "decoder.onnx",
        "encoder.onnx",
        "vlp_onnx.json",
      ]);
      const failed = checks.filter((c) => !c.pass);
      assert.deepEqual(
        failed,
        [],
        `failed: ${failed.map((c) => `${c.name} (max abs ${c.maxAbs})`).join(", ")}`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
