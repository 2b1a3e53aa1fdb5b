/**
 * What `caption` and `answer` share: the flags of the detector and of the VLP model, and opening both on one
 * backend (the detector needs float32: with `reference64` it runs on `reference`).
 *
 * @module
 */
import { z } from "zod";
import { integer, userPath } from "@vlp/command";
import { Detector, loadDetectorWeights, readDetectorConfig, RELEASED_CONFIG } from "@vlp/detect";
import { type Backend, BACKEND_NAMES, type BackendName, createBackend, openBackend } from "@vlp/model";

/** The flags of the detector, the model files and the backend. */
export const detectorModelShape = {
  detector_weights: z.string({ required_error: "--detector_weights FILE is required" }).min(1),
  detector_config: z.string().min(1).optional(),
  model_recover_path: z.string({ required_error: "--model_recover_path FILE is required" }).min(1),
  config_path: z.string().min(1).optional(),
  vocab: z.string({ required_error: "--vocab FILE is required" }).min(1),
  backend: z.enum(BACKEND_NAMES as [BackendName, ...BackendName[]]).default("blas"),
  threads: integer(1).optional(),
};

/** Their usage lines. */
export const DETECTOR_MODEL_USAGE = `  --detector_weights F    Detectron weights (.pkl) of detectron-vlp
  --detector_config F     Detectron's YAML config, or JSON of its fields (default: the released model's)
  --model_recover_path M  VLP checkpoint (legacy or zip torch.save of a state_dict)
  --config_path F         BERT config JSON (default BERT-base, cased, V 28996)
  --vocab F               WordPiece vocabulary of the model
  --backend NAME          ${BACKEND_NAMES.join(" | ")} (default blas; the detector runs on it in float32)
  --threads N             OpenBLAS threads`;

/** The backend and the detector on it. */
export async function openDetector(
  f: { detector_weights: string; detector_config?: string; backend: BackendName; threads?: number },
): Promise<{ backend: Backend; detector: Detector }> {
  const backend = await openBackend(f.backend, { threads: f.threads });
  const cfg = f.detector_config ? await readDetectorConfig(userPath(f.detector_config)) : RELEASED_CONFIG;
  const weights = await loadDetectorWeights(userPath(f.detector_weights), cfg);
  const detector = new Detector(
    cfg,
    weights,
    backend.floatType === "float32" ? backend : createBackend("reference"),
  );
  return { backend, detector };
}
