import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { ReferenceBackend } from "./backends/reference.ts";
import { BlasBackend } from "./backends/blas.ts";
import { blasRequired } from "./backends/create.ts";
import { compare, excuseBySensitivity, fixtureConfig, modelParityChecks, readManifest } from "./parity.ts";
import { vqaPredictions } from "./predict.ts";
import { tinyConfig } from "./config.ts";

const FIXTURE = fixturePath("fixtures/vlp-tiny");
const blas = BlasBackend.tryCreate({ threads: 2 });
if (!blas && blasRequired()) throw new Error("VLP_REQUIRE_BLAS=1 but OpenBLAS could not be loaded");

Deno.test("fixtureConfig() derives the vlp-tiny configuration from its manifest", async () => {
  const c = fixtureConfig(await readManifest(FIXTURE));
  assert.deepEqual({ ...c }, { ...tinyConfig });
});

Deno.test("vqaPredictions() never predicts index 0", () => {
  assert.deepEqual([...vqaPredictions([9, 1, 3, 2, 5, 4], 3)], [2, 1]);
});

Deno.test("excuseBySensitivity(): excuses a failure only when ours is not clearly farther from float64 than the original", () => {
  const tol = { atol: 1e-4, rtol: 0, tolerance: "|a-e| <= 1e-4" };
  const f64 = [1, 2, 3];
  // the original is 2e-4 from exact arithmetic, ours 1e-4 on the other side: 3e-4 apart, excused
  const e = [1, 2 + 2e-4, 3], ok = compare("g", [1, 2 - 1e-4, 3], e, tol);
  assert.equal(ok.pass, false);
  const x = excuseBySensitivity(ok, e, f64, 1e-4);
  assert.equal(x.pass, true);
  assert.ok(
    Math.abs(x.excused!.oursVsF64 - 1e-4) < 1e-12 && Math.abs(x.excused!.originalVsF64 - 2e-4) < 1e-12,
  );
  assert.equal(x.excused!.floor, 1e-4);
  assert.match(x.tolerance, /EXCUSED by float32 sensitivity/);
  // ours 6e-4 from exact arithmetic > 2·2e-4 + 1e-4: a defect, still failing
  const bad = excuseBySensitivity(compare("g", [1, 2 - 6e-4, 3], e, tol), e, f64, 1e-4);
  assert.equal(bad.pass, false);
  assert.equal(bad.excused, undefined);
  assert.match(bad.tolerance, /not excused/);
  // the original exact, ours 2e-4 off: fails (no sensitivity to excuse it)
  assert.equal(excuseBySensitivity(compare("g", [1, 2 + 2e-4, 3], f64, tol), f64, f64, 1e-4).pass, false);
  // a passing check is returned unchanged
  const pass = compare("g", f64, f64, tol);
  assert.equal(excuseBySensitivity(pass, f64, f64, 1e-4), pass);
});

const EXPECTED = [
  "vis_embed_out",
  "vis_pe_embed_out",
  "embedding_output_s2s",
  "sequence_output_s2s",
  "pooled_output_s2s",
  "mlm_scores_s2s",
  "sequence_output_bi",
  "pooled_output_bi",
  "mlm_loss_s2s_drop0",
  "mlm_loss_s2s_drop0.2",
  "mlm_loss_bi_drop0",
  "vqa_logits",
  "vqa_pred_idx",
  "vqa_loss",
  "grads_s2s:bert.embeddings.word_embeddings.weight",
  "grads_s2s:vis_embed.0.weight",
  "grads_s2s:bert.encoder.layer.1.attention.self.key.bias",
];

for (const be of [new ReferenceBackend(), ...(blas ? [blas] : [])]) {
  Deno.test(`vlp-tiny parity on ${be.name}: every forward tensor, loss, VQA output and gradient of the original`, async () => {
    const checks = await modelParityChecks(FIXTURE, be);
    const names = new Set(checks.map((c) => c.name));
    for (const n of EXPECTED) assert.ok(names.has(n), `missing check ${n}`);
    assert.equal(checks.filter((c) => c.name.startsWith("grads_s2s:")).length, 48);
    const failed = checks.filter((c) => !c.pass);
    assert.deepEqual(
      failed,
      [],
      `failed: ${failed.map((c) => `${c.name} (max abs ${c.maxAbs})`).join(", ")}`,
    );
  });
}

// vlp-wide on the reference backend (blas and webgpu through the parity CLI, cli/parity_backends_test.ts)
Deno.test("vlp-wide parity on reference: every forward tensor, loss, VQA output and gradient of the original", async () => {
  const checks = await modelParityChecks(fixturePath("fixtures/vlp-wide"), new ReferenceBackend());
  assert.equal(checks.filter((c) => c.name.startsWith("grads_s2s:")).length, 48);
  const failed = checks.filter((c) => !c.pass);
  assert.deepEqual(failed, [], `failed: ${failed.map((c) => `${c.name} (${c.tolerance})`).join(", ")}`);
});
