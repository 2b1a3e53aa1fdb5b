/**
 * VQA questions about a scene with ten human answers each: counts (all objects, one colour), the colour,
 * shape and side of the most salient (largest) object, whether a colour is present, and the spatial
 * relation of the two largest objects. Annotators are simulated: each answers correctly with a per-question probability (0.88-1) and
 * otherwise gives a plausible mistake (a neighbouring colour, a count off by one, the opposite yes/no), so
 * the answers disagree the way VQA 2.0's do.
 *
 * @module
 */
import type { Rng } from "@vlp/model/rng";
import {
  type Colour,
  COLOUR_NAMES,
  holds,
  inverse,
  matching,
  type Relation,
  type Scene,
  type SceneObject,
  SHAPES,
  side,
} from "./scene.ts";

/** VQA's three answer types. */
export type AnswerType = "yes/no" | "number" | "other";

/** One question with its ground truth and the ten simulated human answers. */
export interface SceneQuestion {
  question: string;
  /** The correct answer. */
  answer: string;
  /** e.g. `"how many"`, `"what color is the"` (the official annotations' question_type). */
  questionType: string;
  answerType: AnswerType;
  /** Ten human answers (most equal to `answer`). */
  answers: string[];
}

/** Colours an annotator may confuse a colour with. */
const CONFUSABLE: Record<Colour, readonly Colour[]> = {
  red: ["orange", "purple"],
  orange: ["red", "yellow"],
  yellow: ["orange", "green"],
  green: ["yellow", "blue"],
  blue: ["purple", "green"],
  purple: ["blue", "red"],
};

/** Every answer the questions can have, human mistakes included (all are VQA 2.0 answers). */
export const ALL_ANSWERS: readonly string[] = [
  ..."012345678".split(""),
  ...COLOUR_NAMES,
  ...SHAPES,
  "yes",
  "no",
  "left",
  "right",
  "middle",
];

const REL_Q: Record<Relation, string> = {
  "left of": "to the left of",
  "right of": "to the right of",
  above: "above",
  below: "below",
};

type Asker = (scene: Scene, rng: Rng) => Omit<SceneQuestion, "answers"> | undefined;

const BIGGEST = ["biggest", "largest"] as const;
const THING = ["shape", "object"] as const;

function pick<T>(rng: Rng, xs: readonly T[]): T | undefined {
  return xs.length ? xs[rng.int(xs.length)] : undefined;
}

/** "the biggest shape" / "the largest object" (the scene's first object). */
function biggest(rng: Rng): string {
  return `the ${pick(rng, BIGGEST)} ${pick(rng, THING)}`;
}

const count: Asker = (scene, rng) => {
  const k = rng.int(3);
  if (k < 2) {
    const noun = rng.float() < 0.5 ? "shapes" : "objects";
    return question(`how many ${noun} are there?`, String(scene.objects.length), "how many", "number");
  }
  // a colour mostly among those present, so that "0" is not a safe guess
  const colour = rng.float() < 0.8 ? pick(rng, scene.objects)!.colour : pick(rng, COLOUR_NAMES)!;
  const n = matching(scene, { colour }).length;
  return question(`how many ${colour} ${pick(rng, THING)}s are there?`, String(n), "how many", "number");
};

const colourOfBiggest: Asker = (scene, rng) => {
  const q = rng.float() < 0.5 ? `what color is ${biggest(rng)}?` : `what is the color of ${biggest(rng)}?`;
  return question(
    q,
    scene.objects[0]!.colour,
    q.startsWith("what color") ? "what color is the" : "what is the color",
    "other",
  );
};

const shapeOfBiggest: Asker = (scene, rng) => {
  const q = `what shape is ${biggest(rng)}?`;
  return question(q, scene.objects[0]!.shape, "what shape is the", "other");
};

const isBiggestA: Asker = (scene, rng) => {
  const a = scene.objects[0]!, yes = rng.float() < 0.5;
  const s = yes ? a.shape : pick(rng, SHAPES.filter((x) => x !== a.shape))!;
  return question(`is ${biggest(rng)} a ${s}?`, yes ? "yes" : "no", "is the", "yes/no");
};

const existsColour: Asker = (scene, rng) => {
  const present = new Set(scene.objects.map((o) => o.colour));
  const yes = rng.float() < 0.5;
  const pool = COLOUR_NAMES.filter((c) => present.has(c) === yes);
  const c = pick(rng, pool);
  if (!c) return undefined;
  return question(
    `is there ${c === "orange" ? "an" : "a"} ${c} ${pick(rng, THING)}?`,
    yes ? "yes" : "no",
    "is there a",
    "yes/no",
  );
};

/** Relation of the two largest objects, named by colour and shape. */
const rel: Asker = (scene, rng) => {
  const [a, b] = scene.objects as [SceneObject, SceneObject];
  if (a.colour === b.colour && a.shape === b.shape) return undefined;
  const r = (["left of", "right of", "above", "below"] as const).find((r) => holds(a, b, r));
  if (!r) return undefined;
  const yes = rng.float() < 0.5;
  const asked = yes ? r : inverse(r);
  return question(
    `is the ${a.colour} ${a.shape} ${REL_Q[asked]} the ${b.colour} ${b.shape}?`,
    yes ? "yes" : "no",
    "is the",
    "yes/no",
  );
};

const sideOfBiggest: Asker = (scene, rng) => {
  const where = side(scene.objects[0]!);
  if (where === "middle") return undefined;
  return question(`which side is ${biggest(rng)} on?`, where, "which side is the", "other");
};

function question(
  question: string,
  answer: string,
  questionType: string,
  answerType: AnswerType,
): Omit<SceneQuestion, "answers"> {
  return { question, answer, questionType, answerType };
}

/** Question kinds per scene: always the largest object's colour or shape, then four of the rest. */
const FIRST: readonly Asker[][] = [[colourOfBiggest, shapeOfBiggest]];
const REST: readonly Asker[] = [
  count,
  existsColour,
  rel,
  sideOfBiggest,
  isBiggestA,
  colourOfBiggest,
  shapeOfBiggest,
];

/** `k` (default 5) different questions about a scene, each with ten simulated human answers. */
export function questionsFor(scene: Scene, rng: Rng, k = 5): SceneQuestion[] {
  const out: SceneQuestion[] = [];
  const seen = new Set<string>();
  const add = (q: Omit<SceneQuestion, "answers"> | undefined) => {
    if (!q || seen.has(q.question) || out.length >= k) return false;
    seen.add(q.question);
    out.push({ ...q, answers: humanAnswers(q.answer, q.answerType, rng) });
    return true;
  };
  for (const group of FIRST) {
    for (const ask of rng.shuffle([...group])) if (add(ask(scene, rng))) break;
  }
  for (let tries = 0; out.length < k && tries < 50; tries++) add(pick(rng, REST)!(scene, rng));
  return out;
}

/**
 * Ten answers: each annotator is right with a probability drawn per question in [0.88, 1), otherwise gives
 * a plausible mistake (so a wrong answer rarely gets the 3 votes that earn full VQA credit).
 */
export function humanAnswers(answer: string, type: AnswerType, rng: Rng): string[] {
  const p = rng.uniform(0.88, 1);
  return Array.from({ length: 10 }, () => rng.float() < p ? answer : mistake(answer, type, rng));
}

function mistake(answer: string, type: AnswerType, rng: Rng): string {
  if (type === "yes/no") return answer === "yes" ? "no" : "yes";
  if (type === "number") {
    const n = Number(answer);
    return String(n === 0 || rng.float() < 0.5 ? n + 1 : n - 1);
  }
  if (answer in CONFUSABLE) return pick(rng, CONFUSABLE[answer as Colour])!;
  if ((SHAPES as readonly string[]).includes(answer)) return pick(rng, SHAPES.filter((s) => s !== answer))!;
  return "middle";
}
