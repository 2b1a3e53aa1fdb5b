/**
 * Five captions per scene from templates with synonyms and varied word order. Every caption is about the
 * same facts (the two largest objects, their relation, the number of objects), phrased differently, as
 * five human annotators would.
 *
 * @module
 */
import type { Rng } from "@vlp/model/rng";
import { inverse, type Relation, relation, type Scene, type SceneObject } from "./scene.ts";

/** Number words used in captions (questions are answered with digits, as in VQA). */
export const NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven"] as const;

const REL_WORDS: Record<Relation, readonly string[]> = {
  "left of": ["to the left of", "left of"],
  "right of": ["to the right of", "right of"],
  above: ["above", "over"],
  below: ["below", "under"],
};
const SIZE_WORDS = { large: ["large", "big"], small: ["small", "little"] } as const;
const SHAPES_WORD = ["shapes", "objects", "figures"] as const;
const SHAPE_WORD = ["shape", "object", "figure"] as const;
const NEAR = ["next to", "beside", "near"] as const;
const BIGGEST = ["biggest", "largest"] as const;
const BIGGER = ["bigger", "larger"] as const;

/** The captions' templates; each takes the scene's facts and a synonym picker. */
type Template = (f: Facts, pick: <T>(xs: readonly T[]) => T) => string;

interface Facts {
  a: SceneObject;
  b: SceneObject;
  n: number;
}

/** "a" or "an" before a word. */
export function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

function np(o: SceneObject, pick: <T>(xs: readonly T[]) => T, withSize: boolean): string {
  const words = withSize ? [pick(SIZE_WORDS[o.size]), o.colour, o.shape] : [o.colour, o.shape];
  return `${article(words[0]!)} ${words.join(" ")}`;
}

/**
 * Templates: every one names the largest object's colour and shape; most name the second one, their
 * relation or the number of objects. Frame words vary (synonyms, order) so that no phrasing dominates.
 */
const TEMPLATES: readonly Template[] = [
  (f, p) => `${np(f.a, p, true)} ${p(REL_WORDS[relation(f.a, f.b)])} ${np(f.b, p, true)}`,
  (f, p) => `${np(f.b, p, false)} ${p(REL_WORDS[inverse(relation(f.a, f.b))])} ${np(f.a, p, true)}`,
  (f, p) => `${NUMBER_WORDS[f.n]} ${p(SHAPES_WORD)} , the ${p(BIGGEST)} is ${np(f.a, p, false)}`,
  (f, p) => `${NUMBER_WORDS[f.n]} ${p(SHAPES_WORD)} including ${np(f.a, p, true)} and ${np(f.b, p, false)}`,
  (f, p) => `${np(f.a, p, false)} ${p(NEAR)} ${np(f.b, p, false)}`,
  (f, p) => {
    const others = f.n - 1;
    return `${np(f.a, p, true)} and ${NUMBER_WORDS[others]} other ${
      others === 1 ? p(SHAPE_WORD) : p(SHAPES_WORD)
    }`;
  },
  (f, p) => `${np(f.a, p, false)} and ${np(f.b, p, false)} among ${NUMBER_WORDS[f.n]} ${p(SHAPES_WORD)}`,
  (f, p) => `the ${f.a.colour} ${f.a.shape} is ${p(BIGGER)} than the ${f.b.colour} ${f.b.shape}`,
];

/** Five different captions of a scene (five of the templates, each with its own synonyms). */
export function captionsFor(scene: Scene, rng: Rng): string[] {
  const [a, b] = scene.objects;
  if (!a || !b) throw new RangeError(`Cannot caption scene ${scene.id}: it has fewer than 2 objects`);
  const facts: Facts = { a, b, n: scene.objects.length };
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const order = rng.shuffle(TEMPLATES.map((_, i) => i)).slice(0, 5);
  return order.map((i) => TEMPLATES[i]!(facts, pick));
}
