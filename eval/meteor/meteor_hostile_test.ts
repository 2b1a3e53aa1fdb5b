/**
 * METEOR on hostile input: a caption of tens of thousands of words, one enormous word, thousands of
 * references, and pathological pairs. Costs are asserted on the aligner's work counters (deterministic),
 * with generous wall-clock limits only as a safety net.
 */
import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { Aligner } from "./aligner.ts";
import { ReferenceAligner } from "./aligner_reference.ts";
import { METEOR_BEAM } from "./alignment.ts";
import { Meteor, METEOR_MAX_CANDIDATES } from "./meteor.ts";
import { loadMeteorResources } from "./resources.ts";
import { MeteorWorkLimitError } from "./stage.ts";

const res = await loadMeteorResources(fixturePath("data/meteor"));
const refsFile: Record<string, string[]> = JSON.parse(
  Deno.readTextFileSync(fixturePath("fixtures/metrics/cap_fakecap126.refs.json")),
);
const REFS = Object.values(refsFile)[0].map((r) => r.toLowerCase().replace(/ \.$/, ""));

/** The image's first reference repeated to `n` words. */
function longCaption(n: number): string {
  const words = REFS[0].split(" ");
  return Array.from({ length: n }, (_, i) => words[i % words.length]).join(" ");
}

/** Scores one caption against REFS and returns the score and the aligner's work. */
function run(caption: string, refs = REFS) {
  const m = new Meteor(res);
  const t0 = performance.now();
  const r = m.score([caption], [refs]);
  return { score: r.score, ...m.aligner.counters, ms: performance.now() - t0 };
}

Deno.test("METEOR: a 600-word caption gets exactly the plain twin's alignments", () => {
  const m = new Meteor(res);
  const test = m.words(longCaption(600));
  const fast = new Aligner(m.modules, res), plain = new ReferenceAligner(m.modules, res);
  for (const r of REFS) assert.deepEqual(fast.align(test, m.words(r)), plain.align(test, m.words(r)));
});

Deno.test("METEOR: 20,000- and 40,000-word captions cost linear work and a bounded number of paths", () => {
  const a = run(longCaption(20_000)), b = run(longCaption(40_000));
  const refWords = REFS.reduce((n, r) => n + r.split(" ").length + 1, 0);
  for (const x of [a, b]) {
    assert.ok(x.score > 0 && x.score < 0.01, `${x.score}`);
    // At most 40 paths are built per reference position, however long the caption (the original built
    // one per candidate match: 40 x work).
    assert.ok(x.built <= METEOR_BEAM * refWords, `${x.built} paths`);
    assert.ok(x.scored <= METEOR_BEAM * (x.work + refWords), `${x.scored} scored for ${x.work} candidates`);
  }
  assert.ok(b.work <= 2.01 * a.work && b.scored <= 2.05 * a.scored, `${a.scored} -> ${b.scored}`);
  assert.ok(a.ms < 30_000 && b.ms < 60_000, "safety net");
});

Deno.test("METEOR: one 1-MB word and 10,000 references", () => {
  const w = run("ay".repeat(500_000));
  assert.equal(w.score, 0);
  assert.equal(w.work, 0);
  const many = Array.from({ length: 10_000 }, (_, i) => REFS[i % REFS.length]);
  const r = run(REFS[1], many);
  assert.equal(r.score, 1);
  assert.ok(r.built <= METEOR_BEAM * many.reduce((n, x) => n + x.split(" ").length + 1, 0));
  assert.ok(w.ms < 30_000 && r.ms < 60_000, "safety net");
});

Deno.test("METEOR: a pair with millions of candidate matches is refused with a message naming it", () => {
  const m = new Meteor(res);
  const caption = "a ".repeat(3000), ref = "a ".repeat(1500) + "dog";
  assert.throws(
    () => m.score(["a dog", caption], [["a dog"], [ref]], ["image 1", "image 2"]),
    (e: Error) =>
      e instanceof MeteorWorkLimitError &&
      e.message.startsWith("METEOR: image 2: a caption of 3000 words against 1 references of 1501 words") &&
      e.message.includes(`more than ${METEOR_MAX_CANDIDATES} candidate word matches`),
  );
});

Deno.test("METEOR: the candidate limit counts all references of a caption, exactly", () => {
  const caption = "a man with a dog and a man", refs = ["a man", "a dog", "the man"];
  const used = run(caption, refs).work;
  // Exact matches: "a" x3 + "man" x2, "a" x3 + "dog", "man" x2 (plus any stem or synonym pairs).
  assert.ok(used >= 11, `${used}`);
  assert.doesNotThrow(() => new Meteor(res, { maxCandidates: used }).score([caption], [refs]));
  assert.throws(
    () => new Meteor(res, { maxCandidates: used - 1 }).score([caption], [refs]),
    MeteorWorkLimitError,
  );
});
