/**
 * The parity CLI on the backends whose runs no member test repeats: blas on vlp-wide (with --report), webgpu on
 * vlp-tiny and vlp-wide; every member's checks (model, decode, train) pass. The reference backend (vlp-tiny,
 * vlp-wide) and blas on vlp-tiny are the members' own tests; ONNX Runtime is cli/parity_test.ts.
 * The webgpu run is the one of issue 6 (on lavapipe in CI) and the slowest test of the suite; it has this
 * file to itself with the blas run, so that the other CLI tests (cli/parity_test.ts) are not held up by it.
 */
import assert from "node:assert/strict";
import { fixturePath, runCli } from "@vlp/testing";
import { NoAdapterError, WebGpuBackend } from "@vlp/model";

/** The checks every member contributes on vlp-tiny (a few named ones per member). */
const MEMBER_CHECKS = [
  "sequence_output_s2s",
  "mlm_loss_s2s_drop0.2",
  "vqa_logits",
  "grads_s2s:vis_embed.0.weight",
  "decode_greedy_ids",
  "decode_greedy_scores",
  "decode_beam5_ids",
  "decode_beam3_lp1_noreps_min5_ids",
  "bertadam_loss_trajectory[2]",
  "bertadam_params:bert.encoder.layer.1.output.dense.weight",
];

/** Run the CLI on a fixture (vlp-tiny) with `--backend name` and assert that every member's checks pass. */
async function passesOn(backend: string, fixture = "vlp-tiny", report = false): Promise<void> {
  const r = await runCli("cli/parity.ts", [
    "--fixture",
    fixturePath(`fixtures/${fixture}`),
    "--backend",
    backend,
    ...(report ? ["--report"] : []),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.backend, backend);
  assert.equal(r.json.failed, 0, r.stderr);
  // checks passed by the float32 sensitivity rule are counted and marked (none on these two fixtures)
  assert.equal(typeof r.json.excused, "number");
  const marked = Object.values(r.json.checks as Record<string, { excused?: unknown }>).filter((c) =>
    c.excused
  );
  assert.equal(marked.length, r.json.excused);
  // model 62 (forward, losses, VQA, 48 gradients), decode 8 (layout, searches), train 3 + 48
  assert.equal(r.json.checked, 121);
  const checks = r.json.checks as Record<string, { pass: boolean; maxAbs: number } & Record<string, number>>;
  assert.equal(checks["grads_s2s:bert.pooler.dense.weight"], undefined); // not in the fixture: no gradient
  for (const k of MEMBER_CHECKS) assert.equal(checks[k]?.pass, true, k);
  assert.match(r.stderr, /ok +mlm_loss_s2s_drop0\.2:/);
  if (report) {
    // every check has the float64 twin's distances; a sound float32 forward is within 1e-5 of float64
    // (relative to its largest magnitude; vlp-wide: 1.4e-5 absolute), and decoding takes the same ids
    for (const [k, c] of Object.entries(checks)) {
      for (const f of ["f64MaxAbs", "f64MaxRel", "f32VsF64MaxAbs", "f32VsF64MaxRel"]) {
        assert.equal(typeof c[f], "number", `${k}.${f}`);
      }
    }
    const seq = checks["sequence_output_s2s"];
    assert.ok(seq.f32VsF64MaxAbs > 0 && seq.f32VsF64MaxRel < 1e-5, String(seq.f32VsF64MaxRel));
    assert.equal(checks["decode_greedy_ids"].f32VsF64MaxAbs, 0);
    // train's distances come from its own twin (no second BertAdam run): the loss before any update agrees
    const l0 = checks["bertadam_loss_trajectory[0]"];
    assert.ok(l0.f32VsF64MaxAbs > 0 && l0.f32VsF64MaxRel < 1e-5, String(l0.f32VsF64MaxRel));
    assert.doesNotMatch(r.stderr, /\[train\] .* on reference64/);
  }
}

// vlp-wide: larger activations and gradients, where the tolerances derived from float32 sensitivity
// (model/README.md "Parity tolerances") decide; ReLU gates near 0 make some BertAdam tensors' bounds wider.
// With --report (the float64 twin's distances). vlp-tiny on blas: the members' own tests (model/parity_test.ts,
// decode/parity_test.ts, train/bert_adam_test.ts), so that no blas parity run is repeated in CI.
Deno.test("parity CLI --backend blas --report: vlp-wide passes every check, with the float64 twin's distances", async () => {
  await passesOn("blas", "vlp-wide", true);
});

// CI (VLP_REQUIRE_GPU=1) runs it on the lavapipe software adapter; elsewhere it needs an adapter
const adapter = await WebGpuBackend.create().then(
  (be) => (be.destroy(), true),
  (e) => {
    if (!(e instanceof NoAdapterError) || Deno.env.get("VLP_REQUIRE_GPU") === "1") throw e;
    return false;
  },
);

Deno.test({
  name: "parity CLI --backend webgpu: vlp-tiny passes every check of every member",
  ignore: !adapter,
  fn: () => passesOn("webgpu"),
});

Deno.test({
  name: "parity CLI --backend webgpu: vlp-wide passes every check (sensitivity-derived tolerances)",
  ignore: !adapter,
  fn: () => passesOn("webgpu", "vlp-wide"),
});
