import assert from "node:assert/strict";
import { assertClose, diffStats, randomBatch, smallConfig } from "@vlp/testing";
import type { Backend, HostArray } from "../../backend.ts";
import { namedViews, type Task } from "../../params.ts";
import { VlpModel } from "../../vlp.ts";
import { ReferenceBackend } from "../reference.ts";
import { gpuTest } from "./test_utils.ts";

const config = smallConfig;

/** Train `steps` BertAdam steps (per-tensor clip, decay groups) from seed 7: every step's loss, the parameters. */
async function train(
  be: Backend,
  task: Task,
  dropout: boolean,
  steps: number,
): Promise<{ losses: number[]; initial: HostArray; final: HostArray }> {
  const model = new VlpModel({ config, task, backend: be, seed: 7 });
  const initial = await be.read(model.params);
  const m = be.alloc([model.table.total]), v = be.alloc([model.table.total]);
  const params = model.parameterViews(), grads = model.gradientViews();
  const ms = namedViews(be, model.table, m), vs = namedViews(be, model.table, v);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const batch = randomBatch(config, {
      B: 3,
      T: 7,
      P: 3,
      mode: step % 2 ? "bi" : "s2s",
      answers: task === "vqa2",
      seed: step,
    });
    model.zeroGrad();
    const loss = model.forwardBackward(batch, { dropout });
    for (const spec of model.table.specs) {
      be.bertAdamUpdate({
        param: params.get(spec.name)!,
        grad: grads.get(spec.name)!,
        m: ms.get(spec.name)!,
        v: vs.get(spec.name)!,
        lr: 2e-3,
        weightDecay: spec.decay ? 0.01 : 0,
      });
    }
    losses.push(await model.readScalar(loss));
  }
  return { losses, initial, final: await be.read(model.params) };
}

for (const [task, dropout] of [["img2txt", false], ["vqa2", false], ["img2txt", true]] as const) {
  gpuTest(
    `webgpu trains like the reference: ${task}, dropout ${dropout ? "on" : "off"}, same losses within 1e-4`,
    async (gpu) => {
      const steps = 5;
      const ref = await train(new ReferenceBackend(), task, dropout, steps);
      const got = await train(gpu, task, dropout, steps);
      assertClose(got.losses, ref.losses, { atol: 1e-4, rtol: 0, name: `${task} losses` });
      // the steps really train (parameters move by ~lr per step), and to the same parameters on both backends
      assert.ok(diffStats(ref.final, ref.initial).maxAbs > 5e-3);
      assertClose(got.final, ref.final, {
        atol: 2e-5,
        rtol: 0,
        name: `${task} parameters after ${steps} steps`,
      });
    },
  );
}

// The vlp-tiny parity of every member on webgpu (model forward, losses, gradients and VQA; decode; BertAdam)
// runs once, through the CLI, in cli/parity_test.ts.
