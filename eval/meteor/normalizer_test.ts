import assert from "node:assert/strict";
import { Rng } from "@vlp/testing";
import { expandMultiDots, normalizeEnglish, restoreMultiDots } from "./normalizer.ts";

/** The original's first multi-dot loop, literally (quadratic in the length of a run of dots). */
function expandLoop(w: string): string {
  while (w.includes("DOTMULTI.")) {
    w = w.replace(/DOTMULTI\.([^.])/g, "DOTDOTMULTI $1");
    w = w.replaceAll("DOTMULTI.", "DOTDOTMULTI");
  }
  return w;
}

/** The original's restoring loop, literally. */
function restoreLoop(w: string): string {
  while (w.includes("DOTDOTMULTI")) w = w.replaceAll("DOTDOTMULTI", "DOTMULTI.");
  return w.replaceAll("DOTMULTI", ".");
}

/** Random strings made of the pieces the loops react to, so that runs touch, chain and end the text. */
function pieces(rng: Rng, n: number): string {
  const parts = [
    "DOTMULTI",
    "DOTMULTI",
    "DOT",
    "DO",
    "D",
    "T",
    ".",
    ".",
    "..",
    " ",
    "x",
    "DOTDOTMULTI",
    "MULTI",
  ];
  return Array.from({ length: n }, () => parts[rng.int(parts.length)]).join("");
}

Deno.test("Meteor normaliser: the one-pass multi-dot rewrites equal the original's loops on 20,000 random texts", () => {
  const rng = new Rng(7);
  const bad: string[] = [];
  for (let k = 0; k < 20_000; k++) {
    const w = pieces(rng, 1 + rng.int(12));
    if (expandMultiDots(w) !== expandLoop(w)) bad.push(`expand ${JSON.stringify(w)}`);
    if (restoreMultiDots(w) !== restoreLoop(w)) bad.push(`restore ${JSON.stringify(w)}`);
  }
  assert.deepEqual(bad.slice(0, 5), []);
});

Deno.test("Meteor normaliser: a 200,000-dot run and 300,000 'DOT's are rewritten in linear time", () => {
  const t0 = performance.now();
  const dots = ".".repeat(200_000);
  // The pattern of short runs ("see http : / / .. x now"), checked against the original's loops above.
  assert.equal(normalizeEnglish(`see http://${dots}x now`), `see http : / / ${dots} x now`);
  assert.equal(normalizeEnglish("DOT".repeat(300_000)), "DOT".repeat(300_000));
  // Safety net only (the loops took minutes here); the equality above is the real check.
  assert.ok(performance.now() - t0 < 20_000);
});
