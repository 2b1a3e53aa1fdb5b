/**
 * VQA accuracy as the official evaluation: `deno task eval-vqa --annotations ANN.json --results RES.json`.
 *
 * ANN is the official annotation file (`{"annotations": [...]}`) or a list of
 * `{question_id, question_type, answer_type, answers: [strings]}`; RES is `[{"question_id", "answer"}]`.
 * Prints ONE JSON object on stdout: `{"overall", "perQuestionType", "perAnswerType", "unrounded": {...}}`
 * (percent, rounded to 2 decimals as the official code with Python 3; `unrounded` before rounding).
 * A table goes to stderr.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseVqaAnnotations, parseVqaResults } from "../inputs.ts";
import { vqaAccuracy } from "../vqa/accuracy.ts";

const USAGE = `Usage: deno task eval-vqa --annotations ANN.json --results RES.json
  --annotations FILE  official VQA annotations or a list of {question_id, question_type, answer_type, answers}
  --results FILE      [{"question_id": ..., "answer": "..."}], one answer for every annotated question
  --help              show this text`;

const Flags = z.object({
  annotations: z.string({ required_error: "--annotations FILE is required" }).min(1),
  results: z.string({ required_error: "--results FILE is required" }).min(1),
});

function fail(msg: string, code = 1): never {
  console.error(`eval-vqa: ${msg}`);
  Deno.exit(code);
}

function userPath(p: string): string {
  return isAbsolute(p) ? p : resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), p);
}

function readFile(path: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    fail(`cannot read ${what} "${path}": ${(e as Error).message}`);
  }
}

function main(): void {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: Deno.args,
      options: {
        annotations: { type: "string" },
        results: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) {
    console.error(USAGE);
    Deno.exit(0);
  }
  const flags = Flags.safeParse(values);
  if (!flags.success) fail(`${flags.error.issues.map((i) => i.message).join("; ")}\n${USAGE}`, 2);
  const annPath = userPath(flags.data.annotations), resPath = userPath(flags.data.results);
  const questions = parseVqaAnnotations(readFile(annPath, "annotations"), annPath);
  const results = parseVqaResults(readFile(resPath, "results"), resPath);
  const r = vqaAccuracy(questions, results);
  const lines = [`questions: ${questions.length}`, `overall: ${r.overall.toFixed(2)}`, "per answer type:"];
  for (const [k, v] of Object.entries(r.perAnswerType)) lines.push(`  ${k.padEnd(24)} ${v.toFixed(2)}`);
  lines.push("per question type:");
  for (const [k, v] of Object.entries(r.perQuestionType)) lines.push(`  ${k.padEnd(24)} ${v.toFixed(2)}`);
  console.error(lines.join("\n"));
  console.log(JSON.stringify({
    overall: r.overall,
    perQuestionType: r.perQuestionType,
    perAnswerType: r.perAnswerType,
    unrounded: r.unrounded,
  }));
}

if (import.meta.main) {
  try {
    main();
  } catch (e) {
    fail((e as Error).message);
  }
}
