/**
 * `deno task make-scenes --out DIR [--images N] [--seed S] [--questions-per-image K] [--float32]
 * [--answers FILE]`: write a synthetic scene set in VLP's original on-disk formats (see
 * `demo/scenes/make_scenes.ts` for the layout). Progress goes to stderr; the last stdout line is one JSON
 * object of the figures. Exit status 2 for bad flags, 1 for failures.
 *
 * @module
 */
import { z } from "zod";
import { makeScenes } from "../scenes/make_scenes.ts";
import { type Command, integer, startCommand, userPath } from "@vlp/command";

const USAGE = `Usage: deno task make-scenes --out DIR [options]
  --out DIR                 where the scene set goes (VLP's COCO layout)
  --images N                scenes (default 1000, at least 10)
  --seed S                  (default 1)
  --questions-per-image K   2..8 (default 5)
  --float32                 region features in float32 (default float16)
  --answers FILE            an answer list to use (e.g. VQA 2.0's answers_vqa.txt; must hold every scene answer)
  --help                    show this text`;

const Flags = z.object({
  out: z.string({ required_error: "--out DIR is required" }).min(1),
  images: integer().min(10, "--images must be at least 10").default(1000),
  seed: integer().min(0, "--seed must be >= 0").default(1),
  "questions-per-image": integer(2).max(8, "must be ≤ 8").default(5),
  float32: z.boolean().default(false),
  answers: z.string().optional(),
});

const CMD: Command<z.infer<typeof Flags>> = { name: "make-scenes", usage: USAGE, flags: Flags };

if (import.meta.main) {
  const flags = startCommand(CMD);
  const t0 = performance.now();
  try {
    const out = userPath(flags.out);
    const m = await makeScenes({
      out,
      images: flags.images,
      seed: flags.seed,
      questionsPerImage: flags["questions-per-image"],
      dtype: flags.float32 ? "float32" : "float16",
      answers: flags.answers ? userPath(flags.answers) : undefined,
      log: (msg) => console.error(`make-scenes: ${msg}`),
    });
    const seconds = (performance.now() - t0) / 1000;
    console.error(
      `make-scenes: ${m.images} images (train ${m.splits.train}, val ${m.splits.val}, test ${m.splits.test}), ` +
        `${m.captions} captions, ${m.questions.train + m.questions.val + m.questions.test} questions ` +
        `in ${seconds.toFixed(1)} s → ${out}`,
    );
    console.log(JSON.stringify({
      out,
      images: m.images,
      splits: m.splits,
      captions: m.captions,
      questions: m.questions,
      dtype: m.dtype,
      seconds: Number(seconds.toFixed(2)),
    }));
  } catch (e) {
    console.error(`make-scenes: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
