import assert from "node:assert/strict";
import { backendConformance } from "../conformance.ts";
import { gpuTest } from "./test_utils.ts";

gpuTest("webgpu passes backendConformance() (every operation against the float64 reference)", async (gpu) => {
  const results = await backendConformance(gpu);
  const failed = results.filter((r) => !r.pass);
  assert.deepEqual(failed, [], `failed: ${failed.map((r) => `${r.op} (max abs ${r.maxAbs})`).join(", ")}`);
  assert.ok(results.length >= 14, `${results.length} operation groups checked`);
});
