import assert from "node:assert/strict";
import { fixturePath, Rng } from "@vlp/testing";
import { Aligner } from "./aligner.ts";
import type { MeteorModule } from "./alignment.ts";
import { ReferenceAligner } from "./aligner_reference.ts";
import { Meteor } from "./meteor.ts";
import { loadMeteorResources, type MeteorResources } from "./resources.ts";

const res = await loadMeteorResources(fixturePath("data/meteor"));
const para = await loadMeteorResources(
  fixturePath("data/meteor"),
  new URL("../testdata/paraphrase_tiny.gz", import.meta.url).pathname,
);
const NO_PARA: MeteorModule[] = ["exact", "stem", "synonym"];
const ALL: MeteorModule[] = ["exact", "stem", "synonym", "paraphrase"];

/** Aligns every pair with both aligners and lists the pairs whose alignments differ. */
function differences(
  modules: MeteorModule[],
  r: MeteorResources,
  pairs: readonly (readonly [string[], string[]])[],
): string[] {
  const fast = new Aligner(modules, r), plain = new ReferenceAligner(modules, r);
  const bad: string[] = [];
  for (const [test, ref] of pairs) {
    const a = fast.align(test, ref), b = plain.align(test, ref);
    try {
      assert.deepEqual(a, b);
    } catch {
      bad.push(`"${test.join(" ")}" / "${ref.join(" ")}"`);
    }
  }
  return bad;
}

/** (candidate words, reference words) of every image of a caption fixture. */
function fixturePairs(name: string): [string[], string[]][] {
  const exp = JSON.parse(Deno.readTextFileSync(fixturePath(`fixtures/metrics/${name}.expected.json`)));
  const m = new Meteor(res);
  const pairs: [string[], string[]][] = [];
  for (const { candidate, refs } of Object.values(exp.tokenized) as { candidate: string; refs: string[] }[]) {
    for (const r of refs) pairs.push([m.words(candidate), m.words(r)]);
  }
  return pairs;
}

Deno.test("aligner equals its plain twin on every candidate/reference pair of both caption fixtures", () => {
  for (const name of ["cap_fakecap126", "cap_tricky65"]) {
    const pairs = fixturePairs(name);
    assert.ok(pairs.length > 300);
    assert.deepEqual(differences(NO_PARA, res, pairs), [], name);
  }
});

Deno.test("aligner equals its plain twin with the paraphrase module on the paraphrase test segments", () => {
  const exp = JSON.parse(
    Deno.readTextFileSync(new URL("../testdata/meteor_paraphrase_tiny.expected.json", import.meta.url)),
  );
  const m = new Meteor(para);
  const pairs: [string[], string[]][] = [];
  for (const s of exp.segments as { refs: string[]; hypothesis: string }[]) {
    for (const r of s.refs) pairs.push([m.words(s.hypothesis), m.words(r)]);
  }
  assert.deepEqual(differences(ALL, para, pairs), []);
});

/**
 * Words with shared stems, synonyms, paraphrases (of paraphrase_tiny.gz) and function words, so that
 * random sentences have many competing candidates, fixed matches, repeated words and multi-word matches.
 */
const VOCAB = (
  "a a a the the of on in man men person people dog dogs run runs running ran big large little small " +
  "car auto automobile sit sits sitting seated sat street road kid child children boy girl tv television " +
  "motorcycle motor bike skate board skateboard next to beside front before top plate dish food holding " +
  "carrying group several stands standing is"
).split(" ");

function randomSentence(rng: Rng, maxLen: number): string[] {
  return Array.from({ length: rng.int(maxLen + 1) }, () => VOCAB[rng.int(VOCAB.length)]);
}

/** Random pairs: independent sentences, and a sentence against a perturbed copy of itself (or itself). */
function randomPairs(seed: number, count: number, maxLen: number): [string[], string[]][] {
  const rng = new Rng(seed);
  const pairs: [string[], string[]][] = [];
  for (let k = 0; k < count; k++) {
    const a = randomSentence(rng, maxLen);
    if (k % 3 === 0) {
      const b = a.slice();
      for (let e = rng.int(3); e > 0 && b.length > 0; e--) {
        b[rng.int(b.length)] = VOCAB[rng.int(VOCAB.length)];
      }
      pairs.push([a, b]);
    } else {
      pairs.push([a, randomSentence(rng, maxLen)]);
    }
  }
  return pairs;
}

Deno.test("aligner equals its plain twin on 1500 random sentence pairs, without and with paraphrases", () => {
  assert.deepEqual(differences(NO_PARA, res, randomPairs(1, 1000, 24)), []);
  assert.deepEqual(differences(ALL, para, randomPairs(2, 500, 24)), []);
});

Deno.test("aligner equals its plain twin on longer repetitive sentences (the beam is full and pruning)", () => {
  const rng = new Rng(3);
  const small = VOCAB.slice(0, 12);
  const pairs: [string[], string[]][] = [];
  for (let k = 0; k < 40; k++) {
    const len = 30 + rng.int(60);
    pairs.push([
      Array.from({ length: len }, () => small[rng.int(small.length)]),
      Array.from({ length: 10 + rng.int(30) }, () => small[rng.int(small.length)]),
    ]);
  }
  assert.deepEqual(differences(NO_PARA, res, pairs), []);
});

Deno.test("aligner equals its plain twin on long candidates with many distinct words (synonym index)", () => {
  const refs: Record<string, string[]> = JSON.parse(
    Deno.readTextFileSync(fixturePath("fixtures/metrics/cap_fakecap126.refs.json")),
  );
  const m = new Meteor(res);
  const images = Object.values(refs).map((rs) => rs.map((r) => m.words(r)));
  const pairs: [string[], string[]][] = [];
  for (let k = 0; k + 3 < images.length; k += 6) {
    // The references of four images joined: one candidate of about 200 words.
    const test = images.slice(k, k + 4).flat(2);
    assert.ok(new Set(test).size >= 64);
    for (const r of images[k]) pairs.push([test, r]);
  }
  assert.deepEqual(differences(NO_PARA, res, pairs), []);
});
