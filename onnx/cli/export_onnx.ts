/**
 * `deno task export-onnx --model_recover_path CKPT --out DIR [--task img2txt|vqa2] [--fp16] [--config_path JSON]`
 *
 * Loads a VLP checkpoint (legacy or zip `torch.save`, strict) and writes `encoder.onnx`, `decoder.onnx` and
 * `vlp_onnx.json` into DIR (see onnx/README.md for the graphs). `--config_path` is a BERT `bert_config.json`
 * (VLP's overrides applied: 6 segment types, LayerNorm eps 1e-5) or a fixture `manifest.json` (its `config`
 * field); default: VLP's BERT-base (bert-base-cased) configuration. `--fp16` stores the weights as float16.
 *
 * Output: progress on stderr, then ONE JSON line on stdout:
 * `{"out", "task", "fp16", "opset", "encoderBytes", "decoderBytes", "seconds"}`. Exit code 2 on bad flags,
 * 1 on failure (one line naming the file).
 *
 * @module
 */
import { z } from "zod";
import { type Command, startCommand, userPath } from "@vlp/command";
import {
  bertBaseConfig,
  type BertJsonConfig,
  configFromBertJson,
  createModel,
  ReferenceBackend,
  type VlpConfig,
} from "@vlp/model";
import { fixtureConfig, type FixtureManifest } from "@vlp/model/parity";
import { exportOnnx } from "../export.ts";

const Flags = z.object({
  model_recover_path: z.string().min(1, "--model_recover_path CKPT is required"),
  out: z.string().min(1, "--out DIR is required"),
  task: z.enum(["img2txt", "vqa2"]).default("img2txt"),
  fp16: z.boolean().default(false),
  config_path: z.string().min(1).optional(),
});

type Flags = z.infer<typeof Flags>;

const USAGE = `Usage: deno task export-onnx --model_recover_path CKPT --out DIR [options]
  --model_recover_path F  VLP checkpoint (legacy or zip torch.save of a state_dict), loaded strictly
  --out DIR               where encoder.onnx, decoder.onnx and vlp_onnx.json go
  --task T                img2txt | vqa2 (default img2txt)
  --fp16                  store the weights as float16
  --config_path F         a BERT bert_config.json or a fixture manifest.json (default: BERT-base, cased)
  --help                  show this text`;

const CMD: Command<Flags> = { name: "export-onnx", usage: USAGE, flags: Flags };

/** A configuration from a BERT config JSON or a fixture manifest (one with a `config` object). */
async function readConfig(path: string): Promise<VlpConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new SyntaxError(`Cannot read config "${path}": ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null) {
    throw new SyntaxError(`Cannot read config "${path}": expected a JSON object`);
  }
  const o = json as Record<string, unknown>;
  if (typeof o.config === "object" && typeof o.arrays === "object") {
    return fixtureConfig(o as unknown as FixtureManifest);
  }
  return configFromBertJson(o as BertJsonConfig);
}

async function main(flags: Flags): Promise<void> {
  const t0 = performance.now();
  const config = flags.config_path ? await readConfig(userPath(flags.config_path)) : bertBaseConfig;
  console.error(
    `loading ${flags.model_recover_path} (${flags.task}, C ${config.hiddenSize}, ${config.numLayers} layers)`,
  );
  const model = await createModel({
    config,
    task: flags.task,
    backend: new ReferenceBackend(),
    checkpoint: userPath(flags.model_recover_path),
  });
  const r = await exportOnnx(model, userPath(flags.out), {
    fp16: flags.fp16,
    source: flags.model_recover_path,
    log: (l) => console.error(l),
  });
  console.log(JSON.stringify({
    out: flags.out,
    task: flags.task,
    fp16: flags.fp16,
    opset: r.manifest.opset,
    encoderBytes: r.bytes.encoder,
    decoderBytes: r.bytes.decoder,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
  }));
}

if (import.meta.main) await main(startCommand(CMD));
