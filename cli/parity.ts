/**
 * `deno task parity --fixture DIR [--backend reference|blas]`: every check the project can compute from a
 * reference fixture directory (manifest.json + npy/npz + model.bin), against the outputs of the ORIGINAL
 * implementation. Each member contributes checks through an exported function; this CLI composes them.
 *
 * Output: one human line per check on stderr, then ONE JSON object as the last stdout line:
 * `{"fixture", "backend", "checks": {name: {maxAbs, maxRel, pass}}, "checked", "failed"}`.
 * Exit code 1 when any check fails (2 on bad usage). A member whose checks cannot run (unreadable fixture)
 * reports one failed check named `<member>:error`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { BACKEND_NAMES, createBackend } from "@vlp/model";
import { modelParityChecks, type ParityCheck } from "@vlp/model/parity";
import { decodeParityChecks } from "@vlp/decode/parity";

const Flags = z.object({
  fixture: z.string().min(1, "--fixture DIR is required"),
  backend: z.enum(BACKEND_NAMES as [string, ...string[]]).default("blas"),
  threads: z.coerce.number().int().positive().optional(),
});

/** One member's contribution: a name and a function producing checks. */
interface CheckSource {
  member: string;
  run: (fixture: string, backendName: string, log: (line: string) => void) => Promise<ParityCheck[]>;
}

const SOURCES: CheckSource[] = [
  {
    member: "model",
    run: (fixture, backendName, log) =>
      modelParityChecks(fixture, createBackend(backendName as "blas", { threads: flags.threads }), { log }),
  },
  {
    member: "decode",
    run: (fixture, backendName, log) =>
      decodeParityChecks(fixture, createBackend(backendName as "blas", { threads: flags.threads }), { log }),
  },
];

function usage(msg: string): never {
  console.error(
    `error: ${msg}\nusage: deno task parity --fixture DIR [--backend ${
      BACKEND_NAMES.join("|")
    }] [--threads N]`,
  );
  Deno.exit(2);
}

let flags: z.infer<typeof Flags>;
try {
  const { values } = parseArgs({
    args: Deno.args,
    options: { fixture: { type: "string" }, backend: { type: "string" }, threads: { type: "string" } },
  });
  const r = Flags.safeParse(values);
  if (!r.success) usage(r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  flags = r.data;
} catch (e) {
  usage((e as Error).message);
}

const checks: Record<string, { maxAbs: number; maxRel: number; pass: boolean }> = {};
let failed = 0;
for (const src of SOURCES) {
  console.error(`[${src.member}] ${flags.fixture} on ${flags.backend}`);
  try {
    for (
      const c of await src.run(flags.fixture, flags.backend, (l) => console.error(`[${src.member}] ${l}`))
    ) {
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
console.log(JSON.stringify({ fixture: flags.fixture, backend: flags.backend, checks, checked, failed }));
if (failed > 0 || checked === 0) Deno.exit(1);
