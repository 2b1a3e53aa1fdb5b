/**
 * Where the time of a model step goes, per backend operation: wraps a backend so that every call is timed
 * (synchronous CPU backends only: the time of a call is the time of its work), runs one evaluation forward
 * (`loss`) and one training forward+backward of BERT-base at batch 8, L = 123, and prints the milliseconds
 * per operation (matmul split into plain and batched) on stderr and as ONE JSON line on stdout.
 *
 * Usage: `deno run -A bench/model_ops_profile.ts [--backend blas] [--threads 2] [--batch 8] [--record]`
 *
 * @module
 */
import { z } from "zod";
import { integer, startCommand } from "@vlp/command";
import { type Backend, bertBaseConfig, createBackend, type MatmulArgs, VlpModel } from "@vlp/model";
import { trainingBatch } from "./batches.ts";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

const Flags = z.object({
  backend: z.enum(["blas", "reference"]).default("blas"),
  threads: integer(1).default(2),
  batch: integer(1).default(8),
  ...recordFlag,
});
const values = startCommand<z.infer<typeof Flags>>({
  name: "model_ops_profile",
  usage:
    `Usage: deno run -A bench/model_ops_profile.ts [--backend blas|reference] [--threads N] [--batch B] [--record]
  --backend B  a synchronous CPU backend: blas | reference (default blas)
  --threads N  OpenBLAS threads (default 2)
  --batch B    examples (default 8)
${RECORD_USAGE}`,
  flags: Flags,
});
const inner = createBackend(values.backend as "blas", { threads: Number(values.threads) });
const times = new Map<string, number>();
const timed = new Proxy(inner, {
  get(target, prop, receiver) {
    const fn = Reflect.get(target, prop, receiver);
    if (typeof fn !== "function") return fn;
    return (...args: unknown[]) => {
      const t = performance.now();
      const out = fn.apply(target, args);
      const key = prop === "matmul" && (args[0] as MatmulArgs).batch ? "matmul (batched)" : String(prop);
      times.set(key, (times.get(key) ?? 0) + performance.now() - t);
      return out;
    };
  },
}) as Backend;

const config = bertBaseConfig, B = Number(values.batch), T = 21, L = config.regions + 2 + T, P = 3;
const model = new VlpModel({ config, backend: timed, seed: 1, noInit: true });
const batch = trainingBatch(config, B, T, P, 1);
// warm up (allocations, JIT)
model.loss(batch);
model.zeroGrad();
model.forwardBackward(batch);

const result: Record<string, { totalMs: number; ops: Record<string, number> }> = {};
for (
  const [name, run] of [["forward", () => model.loss(batch)], [
    "forwardBackward",
    () => model.forwardBackward(batch),
  ]] as const
) {
  times.clear();
  const t = performance.now();
  run();
  const total = performance.now() - t;
  const ops = Object.fromEntries([...times].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +v.toFixed(1)]));
  result[name] = { totalMs: +total.toFixed(1), ops };
  console.error(
    `${name}: ${total.toFixed(0)} ms; ${Object.entries(ops).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
}
await reportFigures(
  import.meta.url,
  { bench: "model_ops_profile", backend: inner.name, batch: B, seqLen: L, ...result },
  values.record,
);
