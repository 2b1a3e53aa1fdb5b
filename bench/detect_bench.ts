/**
 * Detector speed at the released network's size (ResNeXt-101 64x4d FPN, 1601 classes, fc6 2048; random
 * weights, so the figures say nothing of the detections): images/s of `@vlp/detect` on a CPU backend for an
 * image that becomes the 600×1000 input of the released config, per stage (body + FPN, RPN and proposals,
 * RoIAlign + box head, class boxes + per-class NMS), side by side with the same network in PyTorch on the same
 * machine (`bench/detect_anchor.py`, when `--python` has torch and torchvision).
 *
 * `deno run -A bench/detect_bench.ts [--images N] [--height H --width W] [--backend blas|reference]
 * [--threads N] [--python PATH] [--record]`; run it alone on the machine.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import { blobSpecs, Detector, prepareImage, RELEASED_CONFIG } from "@vlp/detect";
import { openBackend, openBlasCoreName, Rng } from "@vlp/model";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

const Flags = z.object({
  images: integer(1).default(2),
  height: integer(32).default(480),
  width: integer(32).default(800),
  backend: z.enum(["blas", "reference", "webgpu"]).default("blas"),
  threads: integer(1).optional(),
  python: z.string().default("/usr/bin/python3"),
  ...recordFlag,
});
type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = {
  name: "detect_bench",
  usage:
    `Usage: deno run -A bench/detect_bench.ts [--images N] [--height H] [--width W] [--backend B] [--threads N]
                                    [--python PATH] [--record]
  --images N        timed images after one warm-up (default 2)
  --height, --width the image's size before the detector's resize (default 480 x 800 → 600 x 1000)
  --backend B       blas | reference | webgpu (default blas)
  --threads N       OpenBLAS threads (default: OpenBLAS's); the anchor gets the same torch threads
  --python PATH     a Python with torch + torchvision for the anchor (default /usr/bin/python3; "" for none)
${RECORD_USAGE}`,
  flags: Flags,
};

/** Random weights of the released structure, scaled so that activations stay finite. */
function randomWeights(seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed), w = new Map<string, Float32Array>();
  for (const s of blobSpecs(RELEASED_CONFIG)) {
    const n = s.shape.reduce((a, b) => a * b, 1), a = new Float32Array(n);
    const fanIn = s.shape.length > 1 ? n / s.shape[0]! : 1;
    const std = s.name.endsWith("_w") ? Math.sqrt(2 / fanIn) / (s.name === "conv1_w" ? 70 : 1) : 0.05;
    const mean = s.name.endsWith("_bn_s")
      ? (s.name.includes("branch2c") || s.name.includes("branch1") ? 0.3 : 1)
      : 0;
    for (let i = 0; i < n; i++) a[i] = mean + std * rng.normal();
    w.set(s.name, a);
  }
  return w;
}

async function anchor(f: Flags): Promise<Record<string, unknown> | null> {
  if (!f.python) return null;
  const script = fileURLToPath(new URL("./detect_anchor.py", import.meta.url));
  const args = [
    script,
    "--images",
    String(f.images),
    "--height",
    String(f.height),
    "--width",
    String(f.width),
  ];
  if (f.threads) args.push("--threads", String(f.threads));
  try {
    const out = await new Deno.Command(f.python, { args, stdout: "piped", stderr: "inherit" }).output();
    if (!out.success) return null;
    return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  } catch {
    return null;
  }
}

async function main(f: Flags): Promise<void> {
  const cfg = RELEASED_CONFIG;
  const t0 = performance.now();
  const det = new Detector(cfg, randomWeights(1), await openBackend(f.backend, { threads: f.threads }));
  const setup = (performance.now() - t0) / 1000;
  const rng = new Rng(2), data = new Uint8Array(f.height * f.width * 3).map(() => rng.int(256));
  const img = { width: f.width, height: f.height, data };
  const input = prepareImage(cfg, img);
  console.error(
    `detect_bench: input ${input.info.height}x${input.info.width}, ${f.backend}, setup ${setup.toFixed(1)} s`,
  );
  const stage = { body_fpn: 0, rpn: 0, head: 0, nms: 0 };
  let rois = 0;
  for (let i = 0; i <= f.images; i++) {
    const s = await det.profile(input);
    console.error(
      `detect_bench: image ${i}${i === 0 ? " (warm-up)" : ""}: ${JSON.stringify(s.ms)} (${s.rois} RoIs)`,
    );
    if (i === 0) continue;
    for (const k of Object.keys(stage) as (keyof typeof stage)[]) stage[k] += s.ms[k] / f.images;
    rois += s.rois / f.images;
  }
  const ms = stage.body_fpn + stage.rpn + stage.head + stage.nms;
  const torch = await anchor(f);
  await reportFigures(import.meta.url, {
    bench: "detect",
    backend: f.backend,
    // the OpenBLAS kernels that ran (blas)
    blas_kernels: f.backend === "blas" ? openBlasCoreName() : null,
    threads: f.threads ?? null,
    input: [input.info.height, input.info.width],
    images: f.images,
    rois: Math.round(rois),
    ms_per_image: Math.round(ms),
    stage_ms: Object.fromEntries(Object.entries(stage).map(([k, v]) => [k, Math.round(v)])),
    images_per_s: Number((1000 / ms).toFixed(4)),
    torch_images_per_s: torch?.images_per_s ?? null,
    torch_stage_ms: torch?.stage_ms ?? null,
    speed_vs_torch: torch ? Number(((1000 / ms) / (torch.images_per_s as number)).toFixed(3)) : null,
  }, f.record);
}

if (import.meta.main) await main(startCommand(CMD));
