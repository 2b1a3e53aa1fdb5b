/**
 * "Blind" baselines that never look at an image, to show what the scene set's language alone is worth:
 *
 * - captions: one fixed caption for every test image, the training caption (of a seeded sample) that scores
 *   best CIDEr-D on the validation split;
 * - VQA: for every question, the most frequent training answer among questions with the same wording once
 *   colour and shape words are removed (a question-type prior).
 *
 * A trained model must beat these by a wide margin to have learned anything about the images.
 *
 * @module
 */
import { ciderD, ptbTokenize, questionAccuracy } from "@vlp/eval";
import { Rng } from "@vlp/model/rng";
import type { SceneRecord } from "./scenes/make_scenes.ts";
import { COLOUR_NAMES, SHAPES } from "./scenes/scene.ts";

/** The blind caption: chosen on val among `candidates` sampled training captions. */
export function blindCaption(records: readonly SceneRecord[], candidates = 300, seed = 7): string {
  const train = records.filter((r) => r.split === "train").flatMap((r) => r.captions);
  const val = records.filter((r) => r.split === "val");
  const rng = new Rng(seed);
  const pool = [
    ...new Set(
      Array.from({ length: Math.min(candidates, train.length) }, () => train[rng.int(train.length)]!),
    ),
  ];
  const refs = val.map((r) => ptbTokenize(r.captions));
  const toks = ptbTokenize(pool);
  let best = 0, bestI = 0;
  toks.forEach((c, i) => {
    const s = ciderD(val.map(() => c), refs).score;
    if (s > best) [best, bestI] = [s, i];
  });
  return pool[bestI]!;
}

const ATTRIBUTE = new RegExp(
  `\\b(${[...COLOUR_NAMES, ...SHAPES.flatMap((s) => [s, `${s}s`])].join("|")})\\b`,
  "g",
);

/** A question with its attribute words blanked: the "type" a blind model can see. */
export function questionKey(q: string): string {
  return q.replace(ATTRIBUTE, "_");
}

/** The blind VQA model: question key → most frequent training answer (overall mode for unseen keys). */
export function blindAnswers(records: readonly SceneRecord[]): (question: string) => string {
  const counts = new Map<string, Map<string, number>>();
  const all = new Map<string, number>();
  for (const r of records.filter((r) => r.split === "train")) {
    for (const q of r.questions) {
      const k = questionKey(q.question);
      if (!counts.has(k)) counts.set(k, new Map());
      for (const a of q.answers) {
        counts.get(k)!.set(a, (counts.get(k)!.get(a) ?? 0) + 1);
        all.set(a, (all.get(a) ?? 0) + 1);
      }
    }
  }
  const mode = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  const best = new Map([...counts].map(([k, m]) => [k, mode(m)]));
  const fallback = mode(all);
  return (question) => best.get(questionKey(question)) ?? fallback;
}

/** Mean VQA accuracy (percent) of an answer function on a split's questions. */
export function answerAccuracy(
  records: readonly SceneRecord[],
  split: string,
  answer: (q: string) => string,
): number {
  let sum = 0, n = 0;
  for (const r of records.filter((r) => r.split === split)) {
    for (const q of r.questions) {
      sum += questionAccuracy(answer(q.question), q.answers);
      n++;
    }
  }
  return n ? (100 * sum) / n : 0;
}
