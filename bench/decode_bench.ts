/**
 * Caption decoding speed at BERT-base size (random weights; speed does not depend on them): a batch of 8
 * images with random region inputs, 20 steps (VLP's max_tgt_length; the early stop is off so every step
 * runs, as in the original), greedy and beam 5, on the blas backend (or `--backend`, webgpu included: the
 * K/V cache then lives on the device and each step's logits come back to the host for the search).
 *
 *   deno run -A bench/decode_bench.ts [--rounds 3] [--backend blas] [--threads N] [--images 8]
 *                                     [--vlp DIR [--python /usr/bin/python3] [--anchor-device cuda]] [--record]
 *
 * Anchor (the ORIGINAL VLP decoder, `decode_img2txt.py` on PyTorch 1.13 CPU, same machine type, batch 8,
 * 20 steps): greedy 0.385 images/s, beam 5 0.204 images/s (the figures). With `--vlp DIR` (a checkout
 * of LuoweiZhou/VLP) and a Python with PyTorch, the original also runs side by side (bench/decode_anchor.py,
 * same inputs and sizes; `--anchor-device cuda`: on the GPU, for a `--backend webgpu` run there), round by round
 * alternating with ours, so both see the same machine load; each side decodes once before the rounds. Rounds
 * alternate greedy and beam; the best round of each is reported (the machine is shared), with the median.
 * Stdout: ONE JSON line.
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import { type BackendName, bertBaseConfig, MAX_TGT_LENGTH, openBackend, Rng, VlpModel } from "@vlp/model";
import { CaptionDecoder } from "@vlp/decode";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

const ANCHOR = { greedy: 0.385, beam5: 0.204 };

const Flags = z.object({
  rounds: integer(1).default(3),
  backend: z.enum(["blas", "reference", "reference64", "webgpu"]).default("blas"),
  threads: integer(1).optional(),
  images: integer(1).default(8),
  vlp: z.string().min(1).optional(),
  python: z.string().min(1).default("/usr/bin/python3"),
  "anchor-device": z.enum(["cpu", "cuda"]).default("cpu"),
  ...recordFlag,
});
const CMD: Command<z.infer<typeof Flags>> = {
  name: "decode_bench",
  usage: `Usage: deno run -A bench/decode_bench.ts [--rounds N] [--backend B] [--threads N] [--images N]
                                   [--vlp DIR [--python PATH] [--anchor-device D]] [--record]
  --rounds N     rounds of greedy and beam 5 (default 3; the best is reported, with the median)
  --backend B    blas | reference | reference64 | webgpu (default blas)
  --threads N    OpenBLAS threads
  --images N     images per batch (default 8)
  --vlp DIR      a checkout of the original VLP: run its decoder side by side (needs PyTorch)
  --python PATH  the Python for --vlp (default /usr/bin/python3)
  --anchor-device D
                 cpu | cuda: where the original decodes (default cpu)
${RECORD_USAGE}`,
  flags: Flags,
};
const values = startCommand(CMD);
const rounds = Number(values.rounds), B = Number(values.images), W = 5;
const backend = await openBackend(values.backend as BackendName, {
  threads: values.threads ? Number(values.threads) : undefined,
});
const config = bertBaseConfig;
const { regions: R, regionFeatureSize: F, regionGeometrySize: G } = config;

console.error(`building a random BERT-base VLP model on ${backend.name}`);
const model = new VlpModel({ config, backend, seed: 1 });
const rng = new Rng(2);
const images = {
  regionFeats: rng.fillUniform(new Float32Array(B * R * F), 0, 2), // fc6 features are non-negative
  visPe: rng.fillNormal(new Float32Array(B * R * G)),
};
const dec = new CaptionDecoder(model, { maxImages: B, maxWidth: W, maxTgtLength: MAX_TGT_LENGTH });

async function time(what: "greedy" | "beam5"): Promise<{ s: number; steps: number }> {
  const t0 = performance.now();
  const r = what === "greedy"
    ? await dec.greedy(images, { stopEarly: false })
    : await dec.beam(images, { width: W, stopEarly: false });
  return { s: (performance.now() - t0) / 1000, steps: r.steps };
}

/** The original decoder in a Python process: one command per line, one time (seconds) per line back. */
class Original {
  readonly #proc: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #in: WritableStreamDefaultWriter<Uint8Array>;

  constructor(python: string, vlp: string, device: string) {
    const script = new URL("./decode_anchor.py", import.meta.url).pathname;
    this.#proc = new Deno.Command(python, {
      args: [script, "--vlp", vlp, "--images", String(B), "--device", device],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#in = this.#proc.stdin.getWriter();
    let buf = "";
    this.#lines = this.#proc.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TransformStream<string, string>({
        transform(chunk, out) {
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            out.enqueue(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        },
      }),
    ).getReader();
  }

  async #line(): Promise<string> {
    const { value, done } = await this.#lines.read();
    if (done) throw new Error("the original's process ended early (see its stderr)");
    return value;
  }

  async ready(): Promise<void> {
    const l = await this.#line();
    if (l !== "ready") throw new Error(`the original's process said "${l}"`);
  }

  async time(what: "greedy" | "beam5"): Promise<number> {
    await this.#in.write(new TextEncoder().encode(`${what}\n`));
    const s = Number(await this.#line());
    if (!Number.isFinite(s)) throw new Error(`the original's process gave no time for ${what}`);
    return s;
  }

  async close(): Promise<void> {
    await this.#in.close();
    await this.#proc.status;
  }
}

let original: Original | null = null;
if (values.vlp) {
  console.error(`starting the original decoder (${values.vlp}) with ${values.python}`);
  original = new Original(values.python!, values.vlp, values["anchor-device"]);
  await original.ready();
}

console.error("warm-up");
await time("greedy");
await original?.time("greedy");
type What = "greedy" | "beam5";
const runs: Record<What, number[]> = { greedy: [], beam5: [] };
const anchorRuns: Record<What, number[]> = { greedy: [], beam5: [] };
let steps = { greedy: 0, beam5: 0 };
for (let r = 0; r < rounds; r++) {
  for (const what of ["greedy", "beam5"] as const) {
    const { s, steps: n } = await time(what);
    runs[what].push(s);
    steps = { ...steps, [what]: n };
    console.error(`round ${r + 1} ${what}: ${s.toFixed(2)} s, ${(B / s).toFixed(3)} images/s`);
    if (original) {
      const a = await original.time(what);
      anchorRuns[what].push(a);
      console.error(`round ${r + 1} ${what} (original): ${a.toFixed(2)} s, ${(B / a).toFixed(3)} images/s`);
    }
  }
}
await original?.close();
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const fig = (what: What) => {
  const best = B / Math.min(...runs[what]), med = B / median(runs[what]);
  const side = original
    ? {
      original_images_per_s: Number((B / Math.min(...anchorRuns[what])).toFixed(3)),
      original_seconds: anchorRuns[what].map((s) => Number(s.toFixed(3))),
      ratio_side_by_side: Number((Math.min(...anchorRuns[what]) / Math.min(...runs[what])).toFixed(2)),
    }
    : {};
  return {
    images_per_s: Number(best.toFixed(3)),
    images_per_s_median: Number(med.toFixed(3)),
    seconds: runs[what].map((s) => Number(s.toFixed(3))),
    steps: steps[what],
    anchor_images_per_s: ANCHOR[what],
    ratio: Number((best / ANCHOR[what]).toFixed(2)),
    ...side,
  };
};
const out = {
  bench: "decode",
  backend: backend.name,
  config: "bert-base (V 28996, C 768, NL 12)",
  images: B,
  rounds,
  ...(original ? { original_device: values["anchor-device"] } : {}),
  load_average: Deno.loadavg().map((x) => Number(x.toFixed(2))),
  greedy: fig("greedy"),
  beam5: fig("beam5"),
};
console.error(
  `greedy ${out.greedy.images_per_s} images/s (${out.greedy.ratio}x the anchor), ` +
    `beam 5 ${out.beam5.images_per_s} images/s (${out.beam5.ratio}x)`,
);
await reportFigures(import.meta.url, out, values.record);
