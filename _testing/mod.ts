/**
 * Private test helpers (not a workspace member, never published): closeness assertions that print the
 * first mismatches with their indices, the project's seeded RNG, float64 finite-difference gradient checks,
 * paths to the shared reference fixtures, a micro model configuration with random batches, running a
 * CLI as a subprocess, plausible detector boxes, snapshots of files (inputs must stay byte-identical), and the
 * small detector and vlp-tiny model flags of the detector commands' tests.
 *
 * Naming: helpers shared by several members live here (`@vlp/testing`); a member's own test helpers live in
 * its `test_utils.ts` (next to its tests, never published). Configurations are named by size —
 * `microConfig` (float64 finite differences), `smallConfig` (every layer, C 32) — and a member's own
 * configuration is named by its use (e.g. onnx's `sessionConfig`), never reusing these names. Assertions
 * are `assert*`, gradient checks `check*`.
 *
 * @module
 */
export { assertClose, type CloseOptions, type DiffStats, diffStats, unravel } from "./assert_close.ts";
export { checkGradient, checkVjp, type GradCheckOptions } from "./grad_check.ts";
export { Rng } from "@vlp/model/rng";
export { fixturePath, SHARED } from "./shared.ts";
export { microConfig, randomBatch, type RandomBatchOptions, smallConfig } from "./model.ts";
export {
  assertRefused,
  cliCommand,
  type CliOptions,
  type CliResult,
  endedPid,
  type Json,
  runCli,
} from "./cli.ts";
export { plausibleBoxes } from "./regions.ts";
export { FileSnapshot } from "./files.ts";
export { DETECT_TESTDATA, SMALL_DETECTOR_FLAGS, tinyVlpFlags } from "./detect.ts";
