/**
 * VQA questions about a scene (count, colour, shape, existence, relation, side, size) with ten human
 * answers each. Annotators are simulated: each answers correctly with a per-question probability (0.88-1) and
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
  type Shape,
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

const plural = (s: Shape) => `${s}s`;
const REL_Q: Record<Relation, string> = {
  "left of": "to the left of",
  "right of": "to the right of",
  above: "above",
  below: "below",
};

type Asker = (scene: Scene, rng: Rng) => Omit<SceneQuestion, "answers"> | undefined;

/** The uniquely described objects: by shape alone, or by colour and shape. */
function describable(scene: Scene): { o: SceneObject; text: string }[] {
  const out: { o: SceneObject; text: string }[] = [];
  for (const o of scene.objects) {
    if (matching(scene, { shape: o.shape }).length === 1) out.push({ o, text: o.shape });
    else if (matching(scene, { shape: o.shape, size: o.size }).length === 1) {
      out.push({ o, text: `${o.size} ${o.shape}` });
    }
  }
  return out;
}

function byColourShape(scene: Scene): SceneObject[] {
  return scene.objects.filter((o) => matching(scene, { shape: o.shape, colour: o.colour }).length === 1);
}

function pick<T>(rng: Rng, xs: readonly T[]): T | undefined {
  return xs.length ? xs[rng.int(xs.length)] : undefined;
}

const count: Asker = (scene, rng) => {
  const k = rng.int(3);
  if (k === 0) {
    const noun = rng.float() < 0.5 ? "shapes" : "objects";
    return question(`how many ${noun} are there?`, String(scene.objects.length), "how many", "number");
  }
  if (k === 1) {
    // colours and shapes mostly among those present, so that "0" is not a safe guess
    const colour = rng.float() < 0.8 ? pick(rng, scene.objects)!.colour : pick(rng, COLOUR_NAMES)!;
    const n = matching(scene, { colour }).length;
    return question(`how many ${colour} objects are there?`, String(n), "how many", "number");
  }
  const shape = rng.float() < 0.8 ? pick(rng, scene.objects)!.shape : pick(rng, SHAPES)!;
  const n = matching(scene, { shape }).length;
  return question(`how many ${plural(shape)} are there?`, String(n), "how many", "number");
};

const colour: Asker = (scene, rng) => {
  const d = pick(rng, describable(scene));
  if (!d) return undefined;
  const q = rng.float() < 0.5 ? `what color is the ${d.text}?` : `what is the color of the ${d.text}?`;
  return question(
    q,
    d.o.colour,
    q.startsWith("what color") ? "what color is the" : "what is the color",
    "other",
  );
};

const shape: Asker = (scene, rng) => {
  const o = pick(rng, scene.objects.filter((o) => matching(scene, { colour: o.colour }).length === 1));
  if (!o) return undefined;
  const q = rng.float() < 0.5
    ? `what shape is the ${o.colour} object?`
    : `what is the shape of the ${o.colour} object?`;
  return question(
    q,
    o.shape,
    q.startsWith("what shape") ? "what shape is the" : "what is the shape",
    "other",
  );
};

const exists: Asker = (scene, rng) => {
  let c: Colour, s: Shape;
  const yes = rng.float() < 0.5;
  if (yes) ({ colour: c, shape: s } = pick(rng, scene.objects)!);
  else {
    // a near miss: a colour or shape that is present, combined so that nothing matches
    const absent: [Colour, Shape][] = [];
    for (const cc of COLOUR_NAMES) {
      for (const ss of SHAPES) if (!matching(scene, { colour: cc, shape: ss }).length) absent.push([cc, ss]);
    }
    const near = absent.filter(([cc, ss]) =>
      matching(scene, { colour: cc }).length || matching(scene, { shape: ss }).length
    );
    [c, s] = pick(rng, near.length ? near : absent)!;
  }
  return question(
    `is there ${c === "orange" ? "an" : "a"} ${c} ${s}?`,
    yes ? "yes" : "no",
    "is there a",
    "yes/no",
  );
};

const rel: Asker = (scene, rng) => {
  const objs = byColourShape(scene);
  const pairs: [SceneObject, SceneObject, Relation][] = [];
  for (const a of objs) {
    for (const b of objs) {
      if (a === b) continue;
      for (const r of ["left of", "right of", "above", "below"] as const) {
        if (holds(a, b, r)) pairs.push([a, b, r]);
      }
    }
  }
  const p = pick(rng, pairs);
  if (!p) return undefined;
  const [a, b, r] = p;
  const yes = rng.float() < 0.5;
  const asked = yes ? r : inverse(r);
  return question(
    `is the ${a.colour} ${a.shape} ${REL_Q[asked]} the ${b.colour} ${b.shape}?`,
    yes ? "yes" : "no",
    "is the",
    "yes/no",
  );
};

const sideOf: Asker = (scene, rng) => {
  const o = pick(rng, byColourShape(scene).filter((o) => side(o) !== "middle"));
  if (!o) return undefined;
  return question(`which side is the ${o.colour} ${o.shape} on?`, side(o), "which side is the", "other");
};

const sizeOf: Asker = (scene, rng) => {
  const o = pick(rng, byColourShape(scene));
  if (!o) return undefined;
  const yes = rng.float() < 0.5;
  const asked = yes ? o.size : o.size === "large" ? "small" : "large";
  return question(
    `is the ${o.colour} ${o.shape} ${asked}?`,
    yes ? "yes" : "no",
    "is the",
    "yes/no",
  );
};

function question(
  question: string,
  answer: string,
  questionType: string,
  answerType: AnswerType,
): Omit<SceneQuestion, "answers"> {
  return { question, answer, questionType, answerType };
}

/** Question kinds per scene: always a count and a colour/shape question, then three of the rest. */
const FIRST: readonly Asker[][] = [[count], [colour, shape]];
const REST: readonly Asker[] = [exists, rel, sideOf, sizeOf, colour, count];

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
