import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { pyRound } from "../metrics/py_compat.ts";
import { vqaAccuracy, type VqaQuestion } from "./accuracy.ts";
import { processDigitArticle, processPunctuation } from "./normalize.ts";

const dir = "fixtures/metrics/vqa_tricky40";
const read = (f: string) => JSON.parse(Deno.readTextFileSync(fixturePath(`${dir}.${f}.json`)));

Deno.test("VQA accuracy equals the official evaluation on vqa_tricky40 (per question exactly, aggregates)", () => {
  const questions: VqaQuestion[] = read("annotations");
  const results = new Map<number, string>(
    (read("results") as { question_id: number; answer: string }[]).map((r) => [r.question_id, r.answer]),
  );
  const exp = read("expected");
  const r = vqaAccuracy(questions, results);
  for (
    const [id, e] of Object.entries(exp.per_question) as [
      string,
      { acc: number; acc_percent_rounded: number },
    ][]
  ) {
    const got = r.perQuestion.get(Number(id))!;
    assert.equal(got.acc, e.acc, `question ${id}`);
    assert.equal(got.accPercentRounded, e.acc_percent_rounded, `question ${id} rounded`);
  }
  assert.deepEqual(
    { overall: r.overall, perQuestionType: r.perQuestionType, perAnswerType: r.perAnswerType },
    exp.accuracy,
  );
  assert.deepEqual(r.unrounded, exp.accuracy_unrounded);
});

Deno.test("VQA accuracy rejects missing and extra question ids", () => {
  const questions: VqaQuestion[] = read("annotations");
  const results = new Map<number, string>(questions.map((q) => [q.question_id, "yes"]));
  results.delete(3);
  results.set(999, "no");
  assert.throws(
    () => vqaAccuracy(questions, results),
    /no answer for question ids 3;.*unknown question ids 999/,
  );
});

Deno.test("VQA normalisation quirks", () => {
  assert.equal(processPunctuation("a,b"), "a b");
  assert.equal(processPunctuation("1,000"), "1000");
  assert.equal(processPunctuation("yes ."), "yes ");
  assert.equal(processPunctuation("3.5"), "3.5");
  // At most 32 periods are removed (re.UNICODE passed as `count`).
  assert.equal(processPunctuation(".".repeat(40)), "........");
  assert.equal(processDigitArticle("The Two dogs dont"), "2 dogs don't");
});

Deno.test("pyRound rounds like Python 3 round(x, 2)", () => {
  assert.equal(pyRound(90.9090909090909, 2), 90.91);
  assert.equal(pyRound(0.125, 2), 0.12); // exact tie -> even
  assert.equal(pyRound(0.375, 2), 0.38);
  assert.equal(pyRound(2.675, 2), 2.67); // binary value is below the midpoint
  assert.equal(pyRound(91.99999999999999, 2), 92);
  assert.equal(pyRound(-1.005, 2), -1); // -1.00499999...
  assert.equal(pyRound(99.995, 2), 100); // the double is 99.99500000000000454...
});
