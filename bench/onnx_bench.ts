/**
 * Our engine against onnxruntime-web on the same BERT-base VLP (V 28996, 12 layers, C 768, 100 regions,
 * random weights, img2txt), side by side in one run:
 *
 * - forward: batch B (default 8), L = 123 (1 + 100 + 1 + 20 + 1), 3 masked positions, seq2seq masks; ours is
 *   `model.forward(batch)` on the blas backend (OpenBLAS, `--threads`), theirs `OnnxModel.forward` on the
 *   exported encoder (onnxruntime-web wasm, `--threads` worker threads); both return the sequence output, the
 *   pooled output and the MLM scores.
 * - beam-5 decode: `--images` images (default 2), beam 5, 20 logits calls (maxLength 122, no early stop):
 *   ours `IncrementalDecoder`, theirs `OnnxDecoder` on the exported decoder graph, both behind the same
 *   `DecodingEngine` interface and the same search (`@vlp/decode`'s beam search, no early stop); the decoded
 *   ids of both engines must be identical.
 *
 * Rounds alternate between the engines; the median of `--iters` rounds is reported, in wall-clock seconds and
 * in CPU seconds of the process (all its threads, from /proc/self/stat; less sensitive to other processes on
 * a shared machine). The export itself (both graphs, written once into a temporary directory, or read from
 * `--onnx_dir`) is timed too.
 *
 * Usage: `deno run -A bench/onnx_bench.ts [--batch 8] [--images 2] [--threads 2] [--iters 3] [--onnx_dir DIR]
 * [--record]`.
 * Prints progress on stderr and ONE JSON line of figures on stdout.
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import {
  bertBaseConfig,
  createBackend,
  type DecodingEngine,
  IncrementalDecoder,
  MAX_TGT_LENGTH,
  type StartInputs,
  VlpModel,
} from "@vlp/model";
import { exportOnnx, OnnxModel, readOnnxManifest } from "@vlp/onnx";
import { beamSearch, decodeLayout, ModelScorer, padSequences } from "@vlp/decode";
import { trainingBatch } from "./batches.ts";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

const Flags = z.object({
  batch: integer(1).default(8),
  images: integer(1).default(2),
  threads: integer(1).default(2),
  iters: integer(1).default(3),
  onnx_dir: z.string().min(1).optional(),
  ...recordFlag,
});
const CMD: Command<z.infer<typeof Flags>> = {
  name: "onnx_bench",
  usage:
    `Usage: deno run -A bench/onnx_bench.ts [--batch B] [--images N] [--threads N] [--iters N] [--onnx_dir DIR]
                                     [--record]
  --batch B       examples of the forward (default 8)
  --images N      images of the beam-5 decode (default 2)
  --threads N     OpenBLAS threads and onnxruntime-web wasm threads (default 2)
  --iters N       rounds of each engine (default 3; the median is reported)
  --onnx_dir DIR  an existing export of the same model (default: export into a temporary folder)
${RECORD_USAGE}`,
  flags: Flags,
};

/** VLP's beam search (`@vlp/decode`) over an engine, all 20 steps: the chosen sequence of each image. */
async function beamDecode(engine: DecodingEngine, inputs: StartInputs, W: number): Promise<Int32Array> {
  const r = await beamSearch(new ModelScorer(engine, inputs), { width: W, stopEarly: false });
  return padSequences(r.hypotheses.map((h) => h.tokens), engine.maxSteps);
}

/** CPU seconds (user + system, every thread) of this process so far; NaN where /proc is absent. */
function cpuSeconds(): number {
  try {
    const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** Wall and CPU seconds of one awaited call. */
async function timed<T>(fn: () => Promise<T>): Promise<{ wall: number; cpu: number; value: T }> {
  const t = performance.now(), c = cpuSeconds();
  const value = await fn();
  return { wall: (performance.now() - t) / 1000, cpu: cpuSeconds() - c, value };
}

async function main(values: z.infer<typeof Flags>): Promise<void> {
  const B = Number(values.batch), images = Number(values.images), threads = Number(values.threads);
  const iters = Number(values.iters), W = 5;
  const config = bertBaseConfig;
  const R = config.regions, T = 21, L = R + 2 + T, P = 3;
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const secs = (t: number) => (performance.now() - t) / 1000;

  const be = createBackend("blas", { threads });
  console.error(
    `ours: ${be.name} (${threads} OpenBLAS threads); theirs: onnxruntime-web wasm (${threads} threads)`,
  );
  let t0 = performance.now();
  const model = new VlpModel({ config, backend: be, seed: 1 });
  console.error(`init: ${model.table.count} parameters in ${secs(t0).toFixed(1)} s`);

  // the export (into a temporary directory unless one is given and already holds an export)
  let dir = values.onnx_dir, exportS = NaN;
  const temp = !dir;
  dir ??= await Deno.makeTempDir({ prefix: "vlp-onnx-bench-" });
  const have = await readOnnxManifest(dir).then(() => true, () => false);
  if (!have) {
    t0 = performance.now();
    await exportOnnx(model, dir, { log: (l) => console.error(l) });
    exportS = secs(t0);
  }
  const onnx = await OnnxModel.load(dir, { executionProvider: "wasm", threads });
  try {
    // ---- forward --------------------------------------------------------------------------------------
    const batch = trainingBatch(config, B, T, P);
    const oursForward = async () => {
      const o = model.forward(batch);
      await be.read(o.sequenceOutput);
      await be.read(o.pooled);
      return await be.read(o.mlmScores!);
    };
    t0 = performance.now();
    await onnx.session("encoder");
    const encoderSessionS = secs(t0);
    const fwd = {
      ours: [] as number[],
      onnx: [] as number[],
      oursCpu: [] as number[],
      onnxCpu: [] as number[],
    };
    // warm-up (allocations, kernel selection), and a check that both compute the same scores
    const a = await oursForward(), b = (await onnx.forward(batch)).mlmScores!;
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    console.error(`forward: max |ours − onnx| over the MLM scores ${maxDiff.toExponential(2)}`);
    for (let i = 0; i < iters; i++) {
      const x = await timed(oursForward), y = await timed(() => onnx.forward(batch));
      fwd.ours.push(x.wall);
      fwd.oursCpu.push(x.cpu);
      fwd.onnx.push(y.wall);
      fwd.onnxCpu.push(y.cpu);
      console.error(
        `forward ${i + 1}/${iters}: ours ${x.wall.toFixed(2)} s (cpu ${x.cpu.toFixed(2)}), ` +
          `onnx ${y.wall.toFixed(2)} s (cpu ${y.cpu.toFixed(2)})`,
      );
    }
    await onnx.release(); // one session at a time keeps the wasm heap small

    // ---- beam-5 decode --------------------------------------------------------------------------------
    const layout = decodeLayout({ images, regions: R, maxTgtLength: MAX_TGT_LENGTH }), DL = layout.length;
    const inputs: StartInputs = {
      regionFeats: (batch.regionFeats as Float32Array).subarray(0, images * R * config.regionFeatureSize),
      visPe: (batch.visPe as Float32Array).subarray(0, images * R * config.regionGeometrySize),
      inputIds: layout.inputIds,
      segmentIds: layout.segmentIds,
    };
    const ours = new IncrementalDecoder(model, { maxImages: images, maxWidth: W, maxLength: DL });
    t0 = performance.now();
    await onnx.session("decoder");
    const decoderSessionS = secs(t0);
    const theirs = () => onnx.decoder({ maxImages: images, maxWidth: W, maxLength: DL });
    const dec = {
      ours: [] as number[],
      onnx: [] as number[],
      oursCpu: [] as number[],
      onnxCpu: [] as number[],
    };
    let same = true;
    for (let i = 0; i <= iters; i++) { // round 0 is the warm-up
      const x = await timed(() => beamDecode(ours, inputs, W));
      const y = await timed(async () => beamDecode(await theirs(), inputs, W));
      same &&= x.value.every((v, j) => v === y.value[j]);
      if (i === 0) continue;
      dec.ours.push(x.wall);
      dec.oursCpu.push(x.cpu);
      dec.onnx.push(y.wall);
      dec.onnxCpu.push(y.cpu);
      console.error(
        `beam-5 decode ${i}/${iters}: ours ${x.wall.toFixed(2)} s (cpu ${x.cpu.toFixed(2)}), ` +
          `onnx ${y.wall.toFixed(2)} s (cpu ${y.cpu.toFixed(2)})`,
      );
    }
    console.error(`beam-5 decode: ids ${same ? "identical" : "DIFFER"} between the engines`);

    const f = { ours: B / median(fwd.ours), onnx: B / median(fwd.onnx) };
    const d = { ours: images / median(dec.ours), onnx: images / median(dec.onnx) };
    console.error(
      `forward: ours ${f.ours.toFixed(2)} ex/s, onnx ${f.onnx.toFixed(2)} ex/s (${
        (f.ours / f.onnx).toFixed(2)
      }x); ` +
        `beam-5: ours ${d.ours.toFixed(2)} images/s, onnx ${d.onnx.toFixed(2)} images/s (${
          (d.ours / d.onnx).toFixed(2)
        }x)`,
    );
    const r3 = (x: number) => +x.toFixed(3);
    await reportFigures(import.meta.url, {
      bench: "onnx",
      config: "bert-base",
      threads,
      ours: be.name,
      onnx: `onnxruntime-web ${onnx.runtime.ort.env.versions.web ?? ""} wasm`.replace("  ", " "),
      forward: {
        batch: B,
        seqLen: L,
        oursExamplesPerS: r3(f.ours),
        onnxExamplesPerS: r3(f.onnx),
        ratio: r3(f.ours / f.onnx),
        oursSeconds: fwd.ours.map(r3),
        onnxSeconds: fwd.onnx.map(r3),
        oursCpuSeconds: fwd.oursCpu.map(r3),
        onnxCpuSeconds: fwd.onnxCpu.map(r3),
        cpuRatio: r3(median(fwd.onnxCpu) / median(fwd.oursCpu)),
        maxAbsDiff: maxDiff,
      },
      beam5: {
        images,
        steps: MAX_TGT_LENGTH,
        oursImagesPerS: r3(d.ours),
        onnxImagesPerS: r3(d.onnx),
        ratio: r3(d.ours / d.onnx),
        oursSeconds: dec.ours.map(r3),
        onnxSeconds: dec.onnx.map(r3),
        oursCpuSeconds: dec.oursCpu.map(r3),
        onnxCpuSeconds: dec.onnxCpu.map(r3),
        cpuRatio: r3(median(dec.onnxCpu) / median(dec.oursCpu)),
        idsIdentical: same,
      },
      exportSeconds: Number.isNaN(exportS) ? null : r3(exportS),
      sessionSeconds: { encoder: r3(encoderSessionS), decoder: r3(decoderSessionS) },
      loadAverage: Deno.loadavg().map((x) => +x.toFixed(2)),
    }, values.record);
  } finally {
    await onnx.release();
    if (temp) await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main(startCommand(CMD));
