import { join } from "node:path";
import { WebGpuBackend, createModel, IncrementalDecoder } from "@vlp/model";
import { fixtureArrays, fixtureConfig, readManifest } from "@vlp/model/parity";
import { decodeLayout } from "@vlp/decode";
const dir = "../shared/fixtures/vlp-tiny";
const be = await WebGpuBackend.create();
const m = await readManifest(dir);
const { f32 } = fixtureArrays(dir, m);
const config = fixtureConfig(m);
const model = await createModel({ config, backend: be, checkpoint: join(dir, "model.bin") });
const dec = new IncrementalDecoder(model, { maxImages: 5, maxWidth: 5 });
const regionFeats = await f32("region_feats"), visPe = await f32("vis_pe");
const lay = decodeLayout({ images: 5, regions: 100, maxTgtLength: 20 });
let t0 = performance.now();
const A = 102;
const inputIds = new Int32Array(5 * (A)); 
await dec.startLogits({ regionFeats, visPe, inputIds: lay.inputIds, segmentIds: lay.segmentIds });
console.log("start", (performance.now() - t0).toFixed(0));
dec.expand(5);
for (let s = 0; s < 5; s++) {
  t0 = performance.now();
  await dec.stepLogits(new Int32Array(25).fill(1000 + s));
  const t1 = performance.now();
  dec.reorder(Int32Array.from({ length: 25 }, (_, i) => i));
  await be.sync();
  console.log("step", (t1 - t0).toFixed(0), "reorder", (performance.now() - t1).toFixed(0));
}
// per-op profile of one step
const times = new Map<string, number>();
const proto = Object.getPrototypeOf(be);
const pending: Promise<void>[] = [];
for (const name of ["matmul","softmax","layernorm","gelu","add","embedding","gatherRows","copyStrided","write"]) {
  const orig = (be as any)[name].bind(be);
  (be as any)[name] = (...args: unknown[]) => {
    const r = orig(...args);
    // synchronous timing: can't await here; use a blocking loop via sync is async. Record label order instead.
    (be as any).__ops = [...((be as any).__ops ?? []), name];
    return r;
  };
}
(be as any).__ops = [];
t0 = performance.now();
dec.step(new Int32Array(25).fill(7)); await be.sync();
console.log("step (sync)", (performance.now() - t0).toFixed(0), "ops", (be as any).__ops.length);
const counts: Record<string, number> = {};
for (const o of (be as any).__ops) counts[o] = (counts[o] ?? 0) + 1;
console.log(counts);
