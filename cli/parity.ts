/**
 * `deno task parity --fixture DIR [--backend reference|reference64|blas|webgpu] [--engine model|onnx
 * --onnx_dir OUT]`: every check the project can compute from a reference fixture directory (manifest.json +
 * npy/npz + model.bin), against the outputs of the ORIGINAL implementation. Each member contributes checks
 * through an exported function; this CLI composes them: the model's forward, losses and gradients, decode's
 * greedy and beam searches, train's BertAdam trajectory and parameters.
 *
 * `--engine model` (default) runs our engine on `--backend`, opened once (webgpu asynchronously) and shared
 * by every member's checks; `--engine onnx` runs the fixture's forward, VQA and decode checks through
 * onnxruntime-web (`--onnx_ep wasm|webgpu|auto`, `--threads` wasm threads) on the export in `--onnx_dir`,
 * exporting the fixture's checkpoint there first when it is empty.
 *
 * Output: one human line per check on stderr, then ONE JSON object as the last stdout line:
 * `{"fixture", "engine", "backend", "checks": {name: {maxAbs, maxRel, pass, excused?}}, "checked", "failed",
 * "excused"}`; a check that failed its fixed tolerance and passed by the float32 sensitivity rule (gradients,
 * the BertAdam loss trajectory: model/README.md "Parity tolerances") carries `excused: {oursVsF64,
 * originalVsF64, floor, spread?}` (`spread`: a loss's S_k from the float64 replays) and is counted in `excused`.
 * Exit code 1 when any check fails (2 on bad flags). A member whose checks cannot run (unreadable fixture,
 * no WebGPU adapter) reports one failed check named `<member>:error`.
 *
 * `--report` also runs every check of our engine on its float64 twin (backend `reference64`) and adds to each
 * check the three distances that tell float32 sensitivity from defects (model/README.md "Parity
 * tolerances"): `maxAbs`/`maxRel` (this run vs the original's float32 values, as always), `f64MaxAbs`/
 * `f64MaxRel` (the float64 twin vs the original) and `f32VsF64MaxAbs`/`f32VsF64MaxRel` (this run vs the twin;
 * relative to max|expected|). The pass rule is unchanged.
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand, userPath } from "@vlp/command";
import { type Backend, BACKEND_NAMES, type BackendName, openBackend } from "@vlp/model";
import { modelParityChecks, type ParityCheck } from "@vlp/model/parity";
// the ONNX engine (onnx-proto, onnxruntime-web) is loaded only for --engine onnx
import { EXECUTION_PROVIDERS } from "@vlp/onnx/runtime";
import { decodeParityChecks } from "@vlp/decode/parity";
import { bertAdamParityChecks } from "@vlp/train/parity";

const Flags = z.object({
  fixture: z.string({ required_error: "--fixture DIR is required" }).min(1, "--fixture DIR is required"),
  backend: z.enum(BACKEND_NAMES as [string, ...string[]]).default("blas"),
  threads: integer(1).optional(),
  engine: z.enum(["model", "onnx"]).default("model"),
  onnx_dir: z.string().min(1).optional(),
  onnx_ep: z.enum(EXECUTION_PROVIDERS as [string, ...string[]]).default("wasm"),
  report: z.boolean().default(false),
}).refine((f) => f.engine !== "onnx" || f.onnx_dir, {
  message: "--engine onnx needs --onnx_dir OUT",
  path: ["onnx_dir"],
});

/** What a member's checks run on: our engine on an opened backend, or ONNX Runtime on `--onnx_dir`. */
type Target = { engine: "model"; backend: Backend } | { engine: "onnx"; onnxDir: string };

/** One member's contribution: a name, the engine it checks, and a function producing checks. */
interface CheckSource {
  member: string;
  engine: Target["engine"];
  run: (fixture: string, target: Target, log: (line: string) => void) => Promise<ParityCheck[]>;
}

/** The backend of a `model` target (sources are only run on targets of their engine). */
function backendOf(t: Target): Backend {
  if (t.engine !== "model") throw new TypeError(`Cannot run a model check on the ${t.engine} engine`);
  return t.backend;
}
function onnxDirOf(t: Target): string {
  if (t.engine !== "onnx") throw new TypeError(`Cannot run an onnx check on the ${t.engine} engine`);
  return t.onnxDir;
}

const SOURCES: CheckSource[] = [
  {
    member: "model",
    engine: "model",
    run: (fixture, t, log) => modelParityChecks(fixture, backendOf(t), { log }),
  },
  {
    member: "onnx",
    engine: "onnx",
    run: async (fixture, t, log) =>
      (await import("@vlp/onnx")).onnxParityChecks(fixture, onnxDirOf(t), {
        log,
        threads: flags.threads,
        executionProvider: flags.onnx_ep as "wasm",
      }),
  },
  {
    member: "decode",
    engine: "model",
    run: (fixture, t, log) => decodeParityChecks(fixture, backendOf(t), { log }),
  },
  {
    // decode's greedy and beam searches with ONNX Runtime doing the compute
    member: "decode",
    engine: "onnx",
    run: async (fixture, t, log) => {
      const { ensureFixtureExport, OnnxModel } = await import("@vlp/onnx");
      await ensureFixtureExport(fixture, onnxDirOf(t), log);
      const onnx = await OnnxModel.load(onnxDirOf(t), {
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
  {
    member: "train",
    engine: "model",
    run: (fixture, t, log) => bertAdamParityChecks(fixture, backendOf(t), { log }),
  },
];

const USAGE = `Usage: deno task parity --fixture DIR [--backend B] [--threads N] [--report]
       deno task parity --fixture DIR --engine onnx --onnx_dir OUT [--onnx_ep P] [--threads N] [--report]
  --fixture DIR   a reference fixture of the original (manifest.json, npy/npz, model.bin), e.g.
                  ../shared/fixtures/vlp-tiny
  --backend B     ${BACKEND_NAMES.join(" | ")} (default blas)
  --threads N     OpenBLAS threads (onnx engine: wasm threads)
  --engine E      model | onnx (default model: our engine on --backend)
  --onnx_dir OUT  with --engine onnx: the export to check (written there first when the folder is empty)
  --onnx_ep P     with --engine onnx: ${EXECUTION_PROVIDERS.join(" | ")} (default wasm)
  --report        also run our engine in float64 (reference64) and add to each check its distances
                  f64MaxAbs/f64MaxRel (twin vs original) and f32VsF64MaxAbs/f32VsF64MaxRel (this run vs twin)
  --help          show this text`;

const CMD: Command<z.infer<typeof Flags>> = { name: "parity", usage: USAGE, flags: Flags };
const flags = startCommand(CMD);
const fixture = userPath(flags.fixture);

/** One check as the JSON line reports it (the `--report` distances when asked for). */
interface Reported {
  maxAbs: number;
  maxRel: number;
  pass: boolean;
  f64MaxAbs?: number;
  f64MaxRel?: number;
  f32VsF64MaxAbs?: number;
  f32VsF64MaxRel?: number;
  /** failed the fixed tolerance, passed by the float32 sensitivity rule: the distances from float64 */
  excused?: { oursVsF64: number; originalVsF64: number; floor: number; spread?: number };
}
const checks: Record<string, Reported> = {};
const runs = new Map<string, ParityCheck & { member: string }>();
let failed = 0;
/** Record one failed check `<member>:error` for a member whose checks could not run. */
function error(member: string, e: unknown): void {
  console.error(`[${member}] error: ${(e as Error).message}`);
  checks[`${member}:error`] = { maxAbs: Infinity, maxRel: Infinity, pass: false };
  failed++;
}
const sources = SOURCES.filter((s) => s.engine === flags.engine);
// the backend is opened once (webgpu's adapter and device requests are asynchronous) and shared
let target: Target | null = null;
try {
  target = flags.engine === "onnx" ? { engine: "onnx", onnxDir: userPath(flags.onnx_dir!) } : {
    engine: "model",
    backend: await openBackend(flags.backend as BackendName, { threads: flags.threads }),
  };
} catch (e) {
  // no backend (e.g. no WebGPU adapter): every member's checks fail
  for (const member of new Set(sources.map((s) => s.member))) error(member, e);
}
for (const src of target ? sources : []) {
  console.error(
    `[${src.member}] ${flags.fixture} on ${flags.engine === "onnx" ? "onnxruntime-web" : flags.backend}`,
  );
  try {
    for (const c of await src.run(fixture, target!, (l) => console.error(`[${src.member}] ${l}`))) {
      checks[c.name] = { maxAbs: c.maxAbs, maxRel: c.maxRel, pass: c.pass, ...excusedOf(c) };
      runs.set(c.name, { ...c, member: src.member });
      if (!c.pass) failed++;
    }
  } catch (e) {
    // a fixture that cannot be read is a failure of this member's checks, reported like one
    error(src.member, e);
  }
}
if (flags.report && target) await addTwinDistances();

function excusedOf(c: ParityCheck): Pick<Reported, "excused"> {
  return c.excused ? { excused: c.excused } : {};
}

/** `--report`: the same checks of our engine on reference64, and the distances of the module doc. */
async function addTwinDistances(): Promise<void> {
  const twin: Target = { engine: "model", backend: await openBackend("reference64") };
  for (const src of SOURCES.filter((s) => s.engine === "model")) {
    let twinChecks: ParityCheck[];
    const own = [...runs.values()].filter((c) => c.member === src.member);
    if (own.length > 0 && own.every((c) => c.twin)) {
      // the member ran its float64 twin already (train's BertAdam): its distances, not a second run
      twinChecks = own.map((c) => c.twin!);
    } else {
      console.error(`[${src.member}] ${flags.fixture} on reference64 (the float64 twin, for --report)`);
      try {
        twinChecks = await src.run(fixture, twin, (l) => console.error(`[${src.member}:f64] ${l}`));
      } catch (e) {
        console.error(`[${src.member}:f64] error: ${(e as Error).message}`);
        continue;
      }
    }
    for (const t of twinChecks) {
      const c = runs.get(t.name), r = checks[t.name];
      if (!c || !r) continue;
      r.f64MaxAbs = t.maxAbs;
      r.f64MaxRel = t.maxRel;
      let d = c.actual && t.actual && c.actual.length === t.actual.length ? 0 : Infinity;
      for (let i = 0; d < Infinity && i < c.actual!.length; i++) {
        d = Math.max(d, Math.abs(c.actual![i] - t.actual![i]));
      }
      r.f32VsF64MaxAbs = d;
      r.f32VsF64MaxRel = c.scale ? d / c.scale : d === 0 ? 0 : Infinity;
      console.error(
        `report ${t.name}: vs original ${c.maxAbs.toExponential(2)}, f64 vs original ${
          t.maxAbs.toExponential(2)
        }, f32 vs f64 ${d.toExponential(2)}`,
      );
    }
  }
}
const checked = Object.keys(checks).length;
const excused = Object.entries(checks).filter(([, c]) => c.excused).map(([k]) => k);
console.error(
  `${checked - failed} of ${checked} checks pass${
    excused.length ? ` (${excused.length} by the float32 sensitivity rule: ${excused.join(", ")})` : ""
  }`,
);
const backend = flags.engine === "onnx" ? `onnxruntime-web/${flags.onnx_ep}` : flags.backend;
console.log(
  JSON.stringify({
    fixture: flags.fixture,
    engine: flags.engine,
    backend,
    checks,
    checked,
    failed,
    excused: excused.length,
  }),
);
if (failed > 0 || checked === 0) Deno.exit(1);
