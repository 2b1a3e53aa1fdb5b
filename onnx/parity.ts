/**
 * Parity of the ONNX export with the ORIGINAL VLP code on a reference fixture directory (the format of
 * `../shared/fixtures/vlp-tiny/`), with ONNX Runtime doing all the compute. When the ONNX directory is empty
 * (or absent) the fixture's checkpoint is exported into it first (task vqa2 when the checkpoint has the VQA
 * head).
 *
 * Checks (named after the fixture entry they compare; tolerances of fixtures/README.md):
 * - `sequence_output_{s2s,bi}`, `pooled_output_{s2s,bi}`: |a − e| ≤ 1e-4;
 * - `mlm_scores_{s2s,bi}`, `vqa_logits`, `decode_greedy_scores`: |a − e| ≤ 1e-4 + 1e-4·|e|;
 * - `vqa_pred_idx`, `decode_greedy_ids`: exactly equal.
 *
 * Greedy decoding here is the plain argmax loop of spec §5.2 over the {@linkcode DecodingEngine} (20 logits
 * calls, no early exit). Beam search belongs to `@vlp/decode`, which this member does not depend on: the
 * root `cli/parity.ts` runs decode's checks on an `OnnxDecoder` as well.
 *
 * @module
 */
import { join } from "node:path";
import {
  argmaxRows,
  createModel,
  type DecodingEngine,
  ReferenceBackend,
  type StartInputs,
  vqaPredictions,
} from "@vlp/model";
import {
  checkList,
  compare,
  fixtureArrays,
  fixtureConfig,
  type ParityCheck,
  readManifest,
  TOLERANCES,
} from "@vlp/model/parity";
import { removeStaleTemporaries } from "@vlp/io";
import { exportOnnx, MANIFEST_FILE } from "./export.ts";
import { OnnxModel } from "./engine.ts";
import type { RuntimeOptions } from "./runtime.ts";

/** Options of {@linkcode onnxParityChecks}. */
export interface OnnxParityOptions extends RuntimeOptions {
  /** progress lines (default: none) */
  log?: (line: string) => void;
}

async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

/**
 * Export the fixture's checkpoint into `onnxDir` when that directory is empty or absent (temporary files of
 * a killed export aside, which are removed); true if it did.
 */
export async function ensureFixtureExport(
  fixtureDir: string,
  onnxDir: string,
  log: (line: string) => void = () => {},
): Promise<boolean> {
  await removeStaleTemporaries(onnxDir);
  if (!(await isEmptyDir(onnxDir))) {
    try {
      await Deno.stat(join(onnxDir, MANIFEST_FILE));
    } catch {
      throw new Error(`Cannot use ONNX directory "${onnxDir}": it is not empty and has no ${MANIFEST_FILE}`);
    }
    return false;
  }
  const m = await readManifest(fixtureDir);
  const task = m.state_dict_keys && !("ans_classifier.0.weight" in m.state_dict_keys) ? "img2txt" : "vqa2";
  const checkpoint = join(fixtureDir, "model.bin");
  log(`exporting ${checkpoint} (${task}) into ${onnxDir}`);
  const model = await createModel({
    config: fixtureConfig(m),
    task,
    backend: new ReferenceBackend(),
    checkpoint,
  });
  await exportOnnx(model, onnxDir, { source: checkpoint, log });
  return true;
}

/** Greedy decoding (argmax of every logits call); ids and the chosen logits, each [B, maxSteps]. */
export async function greedyDecode(
  engine: DecodingEngine,
  inputs: StartInputs,
): Promise<{ ids: Int32Array; scores: Float32Array }> {
  const V = engine.vocabSize, T = engine.maxSteps;
  let logits = await engine.startLogits(inputs);
  const B = logits.length / V;
  const ids = new Int32Array(B * T), scores = new Float32Array(B * T);
  for (let t = 0; t < T; t++) {
    const best = argmaxRows(logits, V);
    for (let b = 0; b < B; b++) {
      ids[b * T + t] = best[b];
      scores[b * T + t] = logits[b * V + best[b]];
    }
    if (t + 1 < T) logits = await engine.stepLogits(best);
  }
  return { ids, scores };
}

/** Run every check of the module doc on an ONNX export of the fixture's checkpoint. */
export async function onnxParityChecks(
  fixtureDir: string,
  onnxDir: string,
  opts: OnnxParityOptions = {},
): Promise<ParityCheck[]> {
  const log = opts.log ?? (() => {});
  await ensureFixtureExport(fixtureDir, onnxDir, log);
  const m = await readManifest(fixtureDir);
  const { has, f32, i32 } = fixtureArrays(fixtureDir, m);
  const { checks, add } = checkList(log);
  const onnx = await OnnxModel.load(onnxDir, opts);
  log(`onnxruntime-web on ${onnx.runtime.executionProvider}, ${onnx.runtime.threads} thread(s)`);
  try {
    const regions = { regionFeats: await f32("region_feats"), visPe: await f32("vis_pe") };

    // ---- forward ---------------------------------------------------------------------------------------
    for (const mode of ["s2s", "bi"] as const) {
      if (!has(`attention_mask_${mode}`)) continue;
      log(`forward (${mode})`);
      const out = await onnx.forward({
        ...regions,
        inputIds: await i32("input_ids"),
        segmentIds: await i32(`segment_ids_${mode}`),
        attentionMask: await f32(`attention_mask_${mode}`),
        ...(has("masked_pos") ? { maskedPos: await i32("masked_pos") } : {}),
      });
      const pairs = [
        [`sequence_output_${mode}`, out.sequenceOutput, TOLERANCES.forward],
        [`pooled_output_${mode}`, out.pooled, TOLERANCES.forward],
        [`mlm_scores_${mode}`, out.mlmScores, TOLERANCES.logits],
      ] as const;
      for (const [k, a, tol] of pairs) if (has(k) && a) add(compare(k, a, await f32(k), tol));
    }

    // ---- VQA -------------------------------------------------------------------------------------------
    if (onnx.manifest.task === "vqa2" && has("vqa_input_ids")) {
      log("forward (vqa)");
      const logits = await onnx.vqaLogits({
        ...regions,
        inputIds: await i32("vqa_input_ids"),
        segmentIds: await i32("vqa_segment_ids"),
        attentionMask: await f32("vqa_attention_mask"),
      });
      if (has("vqa_logits")) add(compare("vqa_logits", logits, await f32("vqa_logits"), TOLERANCES.logits));
      if (has("vqa_pred_idx")) {
        const pred = vqaPredictions(logits, onnx.manifest.config.numAnswers);
        add(compare("vqa_pred_idx", pred, await i32("vqa_pred_idx"), TOLERANCES.exact));
      }
    }

    // ---- decoding --------------------------------------------------------------------------------------
    if (has("decode_input_ids")) {
      const inputIds = await i32("decode_input_ids");
      const A = onnx.manifest.config.regions + 2, B = inputIds.length / A;
      const L = (await i32("decode_segment_ids")).length / B;
      const inputs: StartInputs = {
        ...regions,
        inputIds,
        segmentIds: await i32("decode_segment_ids"),
        attentionMask: await f32("decode_attention_mask"),
      };
      if (has("decode_greedy_ids")) {
        log("greedy decoding");
        const dec = await onnx.decoder({ maxImages: B, maxLength: L });
        const { ids, scores } = await greedyDecode(dec, inputs);
        add(compare("decode_greedy_ids", ids, await i32("decode_greedy_ids"), TOLERANCES.exact));
        if (has("decode_greedy_scores")) {
          add(compare("decode_greedy_scores", scores, await f32("decode_greedy_scores"), TOLERANCES.logits));
        }
      }
    }
  } finally {
    await onnx.release();
  }
  return checks;
}
