import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { scoreCaptions } from "./captions.ts";
import { parseReferences, parseResults } from "./inputs.ts";
import { loadMeteorResources } from "./meteor/resources.ts";

const meteor = await loadMeteorResources(fixturePath("data/meteor"));
const read = (f: string) => Deno.readTextFileSync(fixturePath(`fixtures/metrics/${f}`));

for (const name of ["cap_fakecap126", "cap_tricky65"]) {
  Deno.test(`scoreCaptions from raw captions (${name}): tokenization, every metric, every image`, () => {
    const refs = parseReferences(read(`${name}.refs.json`), `${name}.refs.json`);
    const results = parseResults(read(`${name}.results.json`), `${name}.results.json`);
    const exp = JSON.parse(read(`${name}.expected.json`));
    const r = scoreCaptions(refs, results, { meteor });
    for (
      const [id, t] of Object.entries(exp.tokenized) as [string, { refs: string[]; candidate: string }][]
    ) {
      assert.deepEqual(r.tokenized.get(id), t, `tokenized ${id}`);
    }
    assert.deepEqual(r.bleuCounts, exp.bleu_counts);
    assert.deepEqual(Object.keys(r.metrics).sort(), Object.keys(exp.metrics).sort());
    for (const [m, v] of Object.entries(exp.metrics) as [string, number][]) {
      assert.ok(Math.abs(r.metrics[m] - v) <= 1e-9, `${m}: ${r.metrics[m]} vs ${v}`);
    }
    assert.equal(r.perImage.size, exp.n_images);
    for (const [id, row] of Object.entries(exp.per_image) as [string, Record<string, number>][]) {
      for (const [m, v] of Object.entries(row)) {
        assert.ok(
          Math.abs(r.perImage.get(id)![m] - v) <= 1e-9,
          `${id} ${m}: ${r.perImage.get(id)![m]} vs ${v}`,
        );
      }
    }
    assert.ok(r.unavailable.SPICE.length > 0 && r.unavailable.METEOR.includes("paraphrase"));
  });
}

Deno.test("scoreCaptions rejects duplicate, unknown and missing image ids", () => {
  const refs = new Map([["1", ["a dog"]], ["2", ["a cat"]]]);
  assert.throws(
    () => scoreCaptions(refs, [{ image_id: 1, caption: "x" }, { image_id: 1, caption: "y" }]),
    /more than one caption for image ids 1/,
  );
  assert.throws(() => scoreCaptions(refs, [{ image_id: 3, caption: "x" }]), /image ids 3 have no references/);
  assert.throws(
    () => scoreCaptions(refs, [{ image_id: 1, caption: "x" }]),
    /no caption for 1 of 2 reference images \(2\)/,
  );
  const sub = scoreCaptions(refs, [{ image_id: 1, caption: "a dog" }], { allowMissing: true });
  assert.deepEqual([...sub.perImage.keys()], ["1"]);
  assert.equal(sub.unavailable.METEOR, "no Meteor tables given");
});
