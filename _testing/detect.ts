/**
 * Inputs of the tests that run the detector's commands: the small detector of `detect/testdata/` and the
 * vlp-tiny model of the shared fixtures with a vocabulary of its size.
 */
import { join } from "node:path";
import { fixturePath } from "./shared.ts";

/** The folder of the small detector and the test images. */
export const DETECT_TESTDATA: string = new URL("../detect/testdata/", import.meta.url).pathname;

/** `--detector_weights` and `--detector_config` of the small detector. */
export const SMALL_DETECTOR_FLAGS: readonly string[] = [
  "--detector_weights",
  join(DETECT_TESTDATA, "small_detector.pkl"),
  "--detector_config",
  join(DETECT_TESTDATA, "small_detector.json"),
];

/**
 * The vlp-tiny model (V 28996) for commands: writes its `bert_config.json` and a vocabulary of that size (the
 * shared uncased one cut to 28996 lines; the special tokens have the same ids) into `dir`; returns the
 * `--model_recover_path`, `--config_path` and `--vocab` flags.
 */
export async function tinyVlpFlags(dir: string): Promise<string[]> {
  const tiny = fixturePath("fixtures/vlp-tiny");
  const manifest = JSON.parse(await Deno.readTextFile(join(tiny, "manifest.json")));
  await Deno.writeTextFile(join(dir, "bert_config.json"), JSON.stringify(manifest.config));
  const vocab = (await Deno.readTextFile(fixturePath("data/bert-base-uncased-vocab.txt"))).split("\n");
  await Deno.writeTextFile(join(dir, "vocab.txt"), vocab.slice(0, 28996).join("\n") + "\n");
  return [
    "--model_recover_path",
    join(tiny, "model.bin"),
    "--config_path",
    join(dir, "bert_config.json"),
    "--vocab",
    join(dir, "vocab.txt"),
  ];
}
