/**
 * Export a model to an ONNX directory: `encoder.onnx` (full forward: sequence output, pooled output, MLM
 * scores at given positions, VQA logits for the vqa2 task) and `decoder.onnx` (one incremental decoding
 * step with key/value cache inputs and outputs), plus `vlp_onnx.json`, the manifest the `onnx` engine reads
 * (configuration, task, opset, weight type, files, inputs/outputs with their dynamic axes). Graphs and
 * dimension names are described in `vlp_graph.ts`; every file is written atomically.
 *
 * @example Usage
 * ```ts ignore
 * import { createModel, tinyConfig } from "@vlp/model";
 * import { exportOnnx } from "@vlp/onnx";
 * const model = await createModel({ config: tinyConfig, task: "vqa2", checkpoint: "model.bin" });
 * await exportOnnx(model, "out/onnx", { fp16: false });
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { writeBytesAtomic } from "@vlp/io";
import { type Task, type VlpConfig, VlpConfigSchema, type VlpModel } from "@vlp/model";
import { IR_VERSION, type ValueSpec } from "./graph_builder.ts";
import {
  buildDecoderGraph,
  buildEncoderGraph,
  type GraphWeights,
  OPSET,
  weightsFromFlat,
} from "./vlp_graph.ts";

/** Name of the manifest file in an export directory. */
export const MANIFEST_FILE = "vlp_onnx.json";

/** One input or output of a graph: element type and dimensions (numbers or symbolic names). */
export type IoSpec = ValueSpec;

/** Contents of `vlp_onnx.json`. */
export interface OnnxManifest {
  format: "vlp-onnx";
  version: 1;
  task: Task;
  opset: number;
  irVersion: number;
  /** Weights stored as float16 (compute and inputs/outputs stay float32). */
  fp16: boolean;
  config: VlpConfig;
  files: { encoder: string; decoder: string };
  io: { encoder: { inputs: IoSpec[]; outputs: IoSpec[] }; decoder: { inputs: IoSpec[]; outputs: IoSpec[] } };
  /** Where the weights came from (a file name, or "random init"). */
  source: string;
}

const Io = z.object({
  name: z.string(),
  type: z.enum(["float", "float16", "int64"]),
  dims: z.array(z.union([z.number(), z.string()])),
});
const IoPair = z.object({ inputs: z.array(Io), outputs: z.array(Io) });

/** Zod schema of {@linkcode OnnxManifest}. */
export const OnnxManifestSchema: z.ZodType<OnnxManifest, z.ZodTypeDef, unknown> = z.object({
  format: z.literal("vlp-onnx"),
  version: z.literal(1),
  task: z.enum(["img2txt", "vqa2"]),
  opset: z.number().int(),
  irVersion: z.number().int(),
  fp16: z.boolean(),
  config: VlpConfigSchema,
  files: z.object({ encoder: z.string(), decoder: z.string() }),
  io: z.object({ encoder: IoPair, decoder: IoPair }),
  source: z.string(),
}) as unknown as z.ZodType<OnnxManifest, z.ZodTypeDef, unknown>;

/** Options of {@linkcode exportOnnx}. */
export interface ExportOptions {
  /** Store weights as float16 (halves the files; compute stays float32). Default false. */
  fp16?: boolean;
  /** Recorded in the manifest (default "random init"). */
  source?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** What {@linkcode exportOnnx} wrote. */
export interface ExportResult {
  manifest: OnnxManifest;
  /** Bytes of each written graph file. */
  bytes: { encoder: number; decoder: number };
}

/** Host weights of a model (one read of its flat parameter buffer). */
export async function modelWeights(model: VlpModel): Promise<GraphWeights> {
  const flat = await model.backend.read(model.params);
  if (flat instanceof Int32Array) throw new TypeError("Cannot export: the parameter buffer is not float");
  return weightsFromFlat(model.config, model.task, model.table, flat);
}

/** Write `encoder.onnx`, `decoder.onnx` and `vlp_onnx.json` for a model into `outDir` (created if needed). */
export async function exportOnnx(
  model: VlpModel,
  outDir: string,
  opts: ExportOptions = {},
): Promise<ExportResult> {
  const log = opts.log ?? (() => {});
  const fp16 = opts.fp16 ?? false;
  await Deno.mkdir(outDir, { recursive: true });
  const w = await modelWeights(model);
  const files = { encoder: "encoder.onnx", decoder: "decoder.onnx" };
  const bytes = { encoder: 0, decoder: 0 };
  const io = {} as OnnxManifest["io"];
  for (const which of ["encoder", "decoder"] as const) {
    const g = which === "encoder" ? buildEncoderGraph(w, { fp16 }) : buildDecoderGraph(w, { fp16 });
    const data = g.encode({
      opset: OPSET,
      producer: "vlp",
      doc: `VLP ${which} (${model.task})`,
      metadata: { task: model.task, fp16: String(fp16) },
    });
    const path = join(outDir, files[which]);
    await writeBytesAtomic(path, data);
    bytes[which] = data.length;
    io[which] = g.signature();
    log(`wrote ${path}: ${g.nodeCount} nodes, ${(data.length / 2 ** 20).toFixed(1)} MiB`);
  }
  const manifest: OnnxManifest = {
    format: "vlp-onnx",
    version: 1,
    task: model.task,
    opset: OPSET,
    irVersion: IR_VERSION,
    fp16,
    config: model.config,
    files,
    io,
    source: opts.source ?? "random init",
  };
  await writeBytesAtomic(
    join(outDir, MANIFEST_FILE),
    new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"),
  );
  return { manifest, bytes };
}

/** Read and validate an export directory's `vlp_onnx.json`. */
export async function readOnnxManifest(dir: string): Promise<OnnxManifest> {
  const path = join(dir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new SyntaxError(`Cannot read ONNX manifest "${path}": ${(e as Error).message}`);
  }
  const r = OnnxManifestSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new SyntaxError(`Cannot read ONNX manifest "${path}": ${issues}`);
  }
  return r.data;
}
