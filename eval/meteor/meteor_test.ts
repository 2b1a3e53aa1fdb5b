import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { Meteor } from "./meteor.ts";
import { loadMeteorResources } from "./resources.ts";

interface Expected {
  metrics: Record<string, number>;
  per_image: Record<string, Record<string, number>>;
  tokenized: Record<string, { refs: string[]; candidate: string }>;
}

const res = await loadMeteorResources(fixturePath("data/meteor"));

for (const name of ["cap_fakecap126", "cap_tricky65"]) {
  Deno.test(`METEOR_noparaphrase on tokenized ${name}: corpus and every image within 1e-9`, () => {
    const exp: Expected = JSON.parse(Deno.readTextFileSync(fixturePath(`fixtures/metrics/${name}.expected.json`)));
    const ids = Object.keys(exp.tokenized);
    const r = new Meteor(res).score(ids.map((id) => exp.tokenized[id].candidate), ids.map((id) => exp.tokenized[id].refs));
    assert.equal(r.name, "METEOR_noparaphrase");
    const bad = ids.filter((id, i) => !(Math.abs(r.perImage[i] - exp.per_image[id].METEOR_noparaphrase) <= 1e-9))
      .map((id) => `${id}: ${r.perImage[ids.indexOf(id)]} vs ${exp.per_image[id].METEOR_noparaphrase}`);
    assert.deepEqual(bad, []);
    assert.ok(Math.abs(r.score - exp.metrics.METEOR_noparaphrase) <= 1e-9, `${r.score} vs ${exp.metrics.METEOR_noparaphrase}`);
  });
}
