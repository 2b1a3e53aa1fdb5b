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
import { z } from "zod";
import { type Command, readText, startCommand, userPath } from "@vlp/command";
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

type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = { name: "eval-vqa", usage: USAGE, flags: Flags };

async function main(flags: Flags): Promise<void> {
  const annPath = userPath(flags.annotations), resPath = userPath(flags.results);
  const questions = parseVqaAnnotations(await readText(annPath, "annotations"), annPath);
  const results = parseVqaResults(await readText(resPath, "results"), resPath);
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

if (import.meta.main) await main(startCommand(CMD));
