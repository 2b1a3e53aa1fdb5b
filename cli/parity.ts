/**
 * `deno task parity --fixture DIR [--backend reference|blas] [--engine model|onnx --onnx_dir OUT]`: every
 * check the project can compute from a reference fixture directory (manifest.json + npy/npz + model.bin),
 * against the outputs of the ORIGINAL implementation. Each member contributes checks through an exported
 * function; this CLI composes them.
 *
 * `--engine model` (default) runs our engine on `--backend`; `--engine onnx` runs the fixture's forward, VQA
 * and decode checks through onnxruntime-web (`--onnx_ep wasm|webgpu|auto`, `--threads` wasm threads) on the
 * export in `--onnx_dir`, exporting the fixture's checkpoint there first when it is empty.
 *
 * Output: one human line per check on stderr, then ONE JSON object as the last stdout line:
 * `{"fixture", "engine", "backend", "checks": {name: {maxAbs, maxRel, pass}}, "checked", "failed"}`.
 * Exit code 1 when any check fails (2 on bad usage). A member whose checks cannot run (unreadable fixture)
 * reports one failed check named `<member>:error`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { BACKEND_NAMES, createBackend } from "@vlp/model";
import { modelParityChecks, type ParityCheck } from "@vlp/model/parity";
import { ensureFixtureExport, EXECUTION_PROVIDERS, OnnxModel, onnxParityChecks } from "@vlp/onnx";
import { decodeParityChecks } from "@vlp/decode/parity";

const Flags = z.object({
  fixture: z.string().min(1, "--fixture DIR is required"),
  backend: z.enum(BACKEND_NAMES as [string, ...string[]]).default("blas"),
  threads: z.coerce.number().int().positive().optional(),
  engine: z.enum(["model", "onnx"]).default("model"),
  onnx_dir: z.string().min(1).optional(),
  onnx_ep: z.enum(EXECUTION_PROVIDERS as [string, ...string[]]).default("wasm"),
}).refine((f) => f.engine !== "onnx" || f.onnx_dir, {
  message: "--engine onnx needs --onnx_dir OUT",
  path: ["onnx_dir"],
});

/** One member's contribution: a name, the engine it checks, and a function producing checks. */
interface CheckSource {
  member: string;
  engine: "model" | "onnx";
  run: (fixture: string, log: (line: string) => void) => Promise<ParityCheck[]>;
}

const SOURCES: CheckSource[] = [
  {
    member: "model",
    engine: "model",
    run: (fixture, log) =>
      modelParityChecks(fixture, createBackend(flags.backend as "blas", { threads: flags.threads }), { log }),
  },
  {
    member: "onnx",
    engine: "onnx",
    run: (fixture, log) =>
      onnxParityChecks(fixture, flags.onnx_dir!, {
        log,
        threads: flags.threads,
        executionProvider: flags.onnx_ep as "wasm",
      }),
  },
  {
    member: "decode",
    engine: "model",
    run: (fixture, log) =>
      decodeParityChecks(fixture, createBackend(flags.backend as "blas", { threads: flags.threads }), {
        log,
      }),
  },
  {
    // decode's greedy and beam searches with ONNX Runtime doing the compute
    member: "decode",
    engine: "onnx",
    run: async (fixture, log) => {
      await ensureFixtureExport(fixture, flags.onnx_dir!, log);
      const onnx = await OnnxModel.load(flags.onnx_dir!, {
        threads: flags.threads,
        executionProvider: flags.onnx_ep as "wasm",
      });
      try {
        return await decodeParityChecks(fixture, (sizes) => onnx.decoder(sizes), { log });
      } finally {
        await onnx.release();
      }
    },
  },
];

function usage(msg: string): never {
  console.error(
    `error: ${msg}\nusage: deno task parity --fixture DIR [--backend ${
      BACKEND_NAMES.join("|")
    }] [--threads N] [--engine model|onnx --onnx_dir OUT [--onnx_ep ${EXECUTION_PROVIDERS.join("|")}]]`,
  );
  Deno.exit(2);
}

let flags: z.infer<typeof Flags>;
try {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      fixture: { type: "string" },
      backend: { type: "string" },
      threads: { type: "string" },
      engine: { type: "string" },
      onnx_dir: { type: "string" },
      onnx_ep: { type: "string" },
    },
  });
  const r = Flags.safeParse(values);
  if (!r.success) usage(r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  flags = r.data;
} catch (e) {
  usage((e as Error).message);
}

const checks: Record<string, { maxAbs: number; maxRel: number; pass: boolean }> = {};
let failed = 0;
for (const src of SOURCES.filter((s) => s.engine === flags.engine)) {
  console.error(
    `[${src.member}] ${flags.fixture} on ${flags.engine === "onnx" ? "onnxruntime-web" : flags.backend}`,
  );
  try {
    for (const c of await src.run(flags.fixture, (l) => console.error(`[${src.member}] ${l}`))) {
      checks[c.name] = { maxAbs: c.maxAbs, maxRel: c.maxRel, pass: c.pass };
      if (!c.pass) failed++;
    }
  } catch (e) {
    // a fixture that cannot be read is a failure of this member's checks, reported like one
    const msg = (e as Error).message;
    console.error(`[${src.member}] error: ${msg}`);
    checks[`${src.member}:error`] = { maxAbs: Infinity, maxRel: Infinity, pass: false };
    failed++;
  }
}
const checked = Object.keys(checks).length;
console.error(`${checked - failed} of ${checked} checks pass`);
const backend = flags.engine === "onnx" ? `onnxruntime-web/${flags.onnx_ep}` : flags.backend;
console.log(
  JSON.stringify({ fixture: flags.fixture, engine: flags.engine, backend, checks, checked, failed }),
);
if (failed > 0 || checked === 0) Deno.exit(1);
