import assert from "node:assert/strict";
import { smallConfig } from "@vlp/testing";
import { halfBackend, halfModelTensors } from "./half.ts";
import { ReferenceBackend } from "./backends/reference.ts";
import { cpuData } from "./backends/cpu.ts";
import type { Tensor } from "./backend.ts";
import { parameterTable } from "./params.ts";

Deno.test("--fp16 is refused with the reason on a float32-only backend and on an adapter without shader-f16", () => {
  assert.throws(
    () => halfBackend(new ReferenceBackend()),
    /Cannot run --fp16 on the reference backend: it computes in float32 only; use --backend webgpu/,
  );
  const noF16 = Object.assign(new ReferenceBackend(), {
    hasF16: false,
    adapterName: "Some GPU",
    allocF16: () => {
      throw new Error("unreachable");
    },
    castToF16: () => {},
    countNonFinite: () => {},
    scaleInPlace: () => {},
  });
  assert.throws(() => halfBackend(noF16), /the WebGPU adapter Some GPU lacks the shader-f16 feature/);
});

Deno.test("halfModelTensors takes every Linear weight matrix, and nothing else, from the float16 copy", () => {
  const be = new ReferenceBackend();
  const table = parameterTable(smallConfig, "vqa2");
  const full = be.alloc([table.total]), half = be.alloc([table.total]); // stand-ins: which buffer a view is on
  const w = halfModelTensors(be, table, full, half, smallConfig);
  const on = (t: Tensor | undefined, flat: Tensor) => cpuData(t!).buffer === cpuData(flat).buffer;
  for (const l of w.layers) {
    for (const k of ["qkvW", "attnOutW", "ffnInW", "ffnOutW"] as const) assert.ok(on(l[k], half), k);
    for (const k of ["qkvB", "ln1W", "ln1B", "ln2W", "ffnInB"] as const) assert.ok(on(l[k], full), k);
  }
  for (const k of ["poolerW", "lmDenseW", "vis0W", "vis2W", "visPeW", "ans0W", "ans2W"] as const) {
    assert.ok(on(w[k], half), k);
  }
  for (const k of ["wte", "wpe", "wtt", "embLnW", "lmBias", "vis0B", "ans2B"] as const) {
    assert.ok(on(w[k], full), k);
  }
});
