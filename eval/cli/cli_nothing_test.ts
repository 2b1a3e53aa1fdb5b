/**
 * Evaluating nothing, or the wrong thing, is an error: exit status 1, a one-line message naming the file
 * (the last line of stderr), no figures on stdout, and the input files untouched.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "@vlp/testing";

const captionRefs = JSON.stringify({ 1: ["a dog runs on the grass ."], 2: ["a cat sits ."] });
const captionResults = JSON.stringify([{ image_id: 1, caption: "a dog" }, { image_id: 2, caption: "a cat" }]);
const vqaAnnotations = JSON.stringify([
  { question_id: 1, question_type: "what", answer_type: "other", answers: ["dog", "dog", "cat"] },
]);
const vqaResults = JSON.stringify([{ question_id: 1, answer: "dog" }]);

interface Case {
  name: string;
  cli: "eval_captions.ts" | "eval_vqa.ts";
  /** File name -> content. */
  files: Record<string, string>;
  args: string[];
  /** Expected message; `DIR` stands for the folder of the files. */
  message: RegExp;
}

const CASES: Case[] = [
  {
    name: "eval-captions, empty results",
    cli: "eval_captions.ts",
    files: { "refs.json": captionRefs, "res.json": "[]" },
    args: ["--refs", "refs.json", "--results", "res.json"],
    message:
      /^eval-captions: Cannot evaluate "DIR\/res\.json": it holds no caption results \(an empty list\)/,
  },
  {
    name: "eval-captions, empty references",
    cli: "eval_captions.ts",
    files: { "refs.json": "{}", "res.json": captionResults },
    args: ["--refs", "refs.json", "--results", "res.json", "--subset"],
    message: /Cannot evaluate "DIR\/refs\.json": it holds no references/,
  },
  {
    name: "eval-captions, COCO annotation file without annotations",
    cli: "eval_captions.ts",
    files: {
      "refs.json": JSON.stringify({ images: [{ id: 1 }], annotations: [] }),
      "res.json": captionResults,
    },
    args: ["--refs", "refs.json", "--results", "res.json"],
    message: /Cannot evaluate "DIR\/refs\.json": it holds no caption annotations/,
  },
  {
    name: "eval-captions, result ids that match no reference",
    cli: "eval_captions.ts",
    files: { "refs.json": captionRefs, "res.json": JSON.stringify([{ image_id: 7, caption: "a dog" }]) },
    args: ["--refs", "refs.json", "--results", "res.json", "--subset"],
    message:
      /Cannot score "DIR\/res\.json" against "DIR\/refs\.json": none of the result image ids \(7\) has references/,
  },
  {
    name: "eval-captions, malformed results JSON",
    cli: "eval_captions.ts",
    files: {
      "refs.json": captionRefs,
      "res.json": '[{"image_id": 1, "caption": "a dog"},\n {"image_id" 2}]',
    },
    args: ["--refs", "refs.json", "--results", "res.json"],
    message: /Cannot parse "DIR\/res\.json": malformed JSON .*line 2 column 14.*near `.*\{"image_id" 2\}\]`/,
  },
  {
    name: "eval-captions, a bad results entry",
    cli: "eval_captions.ts",
    files: {
      "refs.json": captionRefs,
      "res.json": JSON.stringify([{ image_id: 1, caption: "a dog" }, { image_id: 2, caption: 5 }, {
        image_id: 3,
      }]),
    },
    args: ["--refs", "refs.json", "--results", "res.json"],
    message:
      /Cannot read "DIR\/res\.json" as caption results .*: entry 1 \{"image_id":2,"caption":5\}, key "caption": Expected string, received number \(2 problems/,
  },
  {
    name: "eval-captions, a caption over METEOR's candidate limit",
    cli: "eval_captions.ts",
    files: {
      "refs.json": JSON.stringify({ 7: ["a ".repeat(1500) + "dog"] }),
      "res.json": JSON.stringify([{ image_id: 7, caption: "a ".repeat(3000) }]),
    },
    args: ["--refs", "refs.json", "--results", "res.json"],
    message:
      /Cannot score "DIR\/res\.json" against "DIR\/refs\.json": METEOR: image 7: a caption of 3000 words/,
  },
  {
    name: "eval-vqa, empty annotation list",
    cli: "eval_vqa.ts",
    files: { "ann.json": JSON.stringify({ annotations: [] }), "res.json": vqaResults },
    args: ["--annotations", "ann.json", "--results", "res.json"],
    message: /^eval-vqa: Cannot evaluate "DIR\/ann\.json": it holds no VQA questions/,
  },
  {
    name: "eval-vqa, empty results",
    cli: "eval_vqa.ts",
    files: { "ann.json": vqaAnnotations, "res.json": "[]" },
    args: ["--annotations", "ann.json", "--results", "res.json"],
    message: /Cannot evaluate "DIR\/res\.json": it holds no VQA answers/,
  },
  {
    name: "eval-vqa, answers for questions of another split",
    cli: "eval_vqa.ts",
    files: { "ann.json": vqaAnnotations, "res.json": JSON.stringify([{ question_id: 9, answer: "dog" }]) },
    args: ["--annotations", "ann.json", "--results", "res.json"],
    message:
      /Cannot score "DIR\/res\.json" against "DIR\/ann\.json": .*none of the answered question ids is annotated/,
  },
  {
    name: "eval-vqa, malformed annotations JSON",
    cli: "eval_vqa.ts",
    files: {
      "ann.json": '{"annotations": [\n  {"question_id": 1,, "answers": []}]}',
      "res.json": vqaResults,
    },
    args: ["--annotations", "ann.json", "--results", "res.json"],
    message: /^eval-vqa: Cannot parse "DIR\/ann\.json": malformed JSON .*line 2 column/,
  },
  {
    name: "eval-vqa, a bad annotation entry",
    cli: "eval_vqa.ts",
    files: {
      "ann.json": JSON.stringify({
        annotations: [
          { question_id: 1, question_type: "what", answer_type: "other", answers: [{ answer: "x" }] },
          { question_id: 2, answers: [] },
        ],
      }),
      "res.json": vqaResults,
    },
    args: ["--annotations", "ann.json", "--results", "res.json"],
    message:
      /Cannot read "DIR\/ann\.json" as VQA annotations: annotations entry 1 .*key "question_type": Required/,
  },
];

/** Every file of `dir` with its bytes. */
async function snapshot(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) out.set(e.name, await Deno.readFile(join(dir, e.name)));
  return out;
}

for (const c of CASES) {
  Deno.test(`${c.name}: exit 1, a message naming the file, no figures, inputs unchanged`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      for (const [f, text] of Object.entries(c.files)) await Deno.writeTextFile(join(dir, f), text);
      const before = await snapshot(dir);
      const r = await runCli(`eval/cli/${c.cli}`, c.args, { cwd: dir, env: { INIT_CWD: dir } });
      assert.equal(r.code, 1, r.stderr);
      // The message is the last line of stderr (progress lines may come before it), and no stack trace.
      const lines = r.stderr.trim().split("\n");
      assert.ok(!/^\s+at /m.test(r.stderr), r.stderr);
      const expected = new RegExp(
        c.message.source.replaceAll("DIR", dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")),
      );
      assert.match(lines[lines.length - 1], expected);
      assert.equal(r.stdout, "");
      assert.deepEqual(await snapshot(dir), before);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
