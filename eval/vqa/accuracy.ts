/**
 * VQA accuracy exactly as the official evaluation (`VQAEval.evaluate`): answers are cleaned of
 * newlines/tabs and stripped; only when the ground-truth answers of a question disagree are the
 * prediction and the answers normalised; a question's accuracy is the mean, over its ground-truth
 * answers, of min(1, #matching other answers / 3); aggregates are 100 * mean, rounded with Python 3's
 * `round(x, 2)`.
 *
 * @module
 */
import { pyRound, pyStrip } from "../metrics/py_compat.ts";
import { processDigitArticle, processPunctuation } from "./normalize.ts";

/** One question's annotation as the evaluation needs it. */
export interface VqaQuestion {
  question_id: number;
  question_type: string;
  answer_type: string;
  /** The (usually 10) human answers. */
  answers: string[];
}

/** Overall, per question type and per answer type accuracy in percent. */
export interface VqaAccuracy {
  overall: number;
  perQuestionType: Record<string, number>;
  perAnswerType: Record<string, number>;
}

/** Result of {@linkcode vqaAccuracy}. */
export interface VqaResult extends VqaAccuracy {
  /** The same aggregates before rounding. */
  unrounded: VqaAccuracy;
  /** Per question: accuracy in [0, 1] and the official `round(100 * acc, 2)`. */
  perQuestion: Map<number, { acc: number; accPercentRounded: number }>;
}

/** Decimal places of the official rounding (`VQAEval(n=2)`). */
export const VQA_DIGITS = 2;

function clean(s: string): string {
  return pyStrip(s.replaceAll("\n", " ").replaceAll("\t", " "));
}

/** Accuracy of one prediction against one question's ground-truth answers, in [0, 1]. */
export function questionAccuracy(prediction: string, answers: readonly string[]): number {
  let gts = answers.map(clean);
  let res = clean(prediction);
  if (new Set(gts).size > 1) {
    gts = gts.map((a) => processDigitArticle(processPunctuation(a)));
    res = processDigitArticle(processPunctuation(res));
  }
  let sum = 0;
  for (let i = 0; i < gts.length; i++) {
    let matching = 0;
    for (let j = 0; j < gts.length; j++) if (j !== i && gts[j] === res) matching++;
    sum += Math.min(1, matching / 3);
  }
  return sum / gts.length;
}

/** Python's `100 * float(sum(xs)) / len(xs)` (left-to-right sum). */
function percentMean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return (100 * s) / xs.length;
}

/**
 * Accuracy of `results` (question id -> predicted answer) over `questions`. Every question needs a
 * result and every result a question; otherwise a RangeError names the offending ids. No questions at
 * all is an error too (an accuracy of nothing is not a number). `files` (where the annotations and the
 * results came from) are named in the messages.
 */
export function vqaAccuracy(
  questions: readonly VqaQuestion[],
  results: ReadonlyMap<number, string>,
  files?: { annotations?: string; results?: string },
): VqaResult {
  const resName = files?.results !== undefined ? `"${files.results}"` : "the VQA results";
  const annName = files?.annotations !== undefined ? `"${files.annotations}"` : "the annotations";
  const fail = (why: string) => new RangeError(`Cannot score ${resName} against ${annName}: ${why}`);
  if (questions.length === 0) throw fail("there are no questions, so nothing to score");
  const known = new Set(questions.map((q) => q.question_id));
  const missing = questions.filter((q) => !results.has(q.question_id)).map((q) => q.question_id);
  const extra = [...results.keys()].filter((id) => !known.has(id));
  if (missing.length > 0 || extra.length > 0) {
    const show = (ids: number[]) =>
      ids.slice(0, 10).join(", ") + (ids.length > 10 ? `, ... (${ids.length})` : "");
    const none = extra.length > 0 && extra.length === results.size
      ? " none of the answered question ids is annotated (results of another split?);"
      : "";
    throw fail(
      "the results do not correspond to the annotations:" + none +
        (missing.length > 0 ? ` no answer for question ids ${show(missing)};` : "") +
        (extra.length > 0 ? ` answers for unknown question ids ${show(extra)};` : ""),
    );
  }
  const all: number[] = [];
  const byQType = new Map<string, number[]>(), byAType = new Map<string, number[]>();
  const perQuestion = new Map<number, { acc: number; accPercentRounded: number }>();
  for (const q of questions) {
    if (q.answers.length === 0) {
      throw fail(`question ${q.question_id} has no ground-truth answers`);
    }
    const acc = questionAccuracy(results.get(q.question_id)!, q.answers);
    all.push(acc);
    if (!byQType.has(q.question_type)) byQType.set(q.question_type, []);
    byQType.get(q.question_type)!.push(acc);
    if (!byAType.has(q.answer_type)) byAType.set(q.answer_type, []);
    byAType.get(q.answer_type)!.push(acc);
    perQuestion.set(q.question_id, { acc, accPercentRounded: pyRound(100 * acc, VQA_DIGITS) });
  }
  const aggregate = (round: (x: number) => number): VqaAccuracy => ({
    overall: round(percentMean(all)),
    perQuestionType: Object.fromEntries([...byQType].map(([k, v]) => [k, round(percentMean(v))])),
    perAnswerType: Object.fromEntries([...byAType].map(([k, v]) => [k, round(percentMean(v))])),
  });
  return { ...aggregate((x) => pyRound(x, VQA_DIGITS)), unrounded: aggregate((x) => x), perQuestion };
}
