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
  assert.throws(
    () => scoreCaptions(refs, [{ image_id: 3, caption: "x" }]),
    /none of the result image ids \(3\) has references/,
  );
  assert.throws(
    () => scoreCaptions(refs, [{ image_id: 1, caption: "x" }, { image_id: 3, caption: "y" }]),
    /image ids 3 have no references/,
  );
  assert.throws(
    () => scoreCaptions(refs, [{ image_id: 1, caption: "x" }]),
    /no caption for 1 of 2 reference images \(2\)/,
  );
  const sub = scoreCaptions(refs, [{ image_id: 1, caption: "a dog" }], { allowMissing: true });
  assert.deepEqual([...sub.perImage.keys()], ["1"]);
  assert.equal(sub.unavailable.METEOR, "no Meteor tables given");
});

Deno.test("scoreCaptions: a 20,000-word caption and a 1-MB word are scored, every metric finite", () => {
  const refs = new Map([["1", ["A man riding a wave on top of a surfboard."]], ["2", ["A dog on a couch."]]]);
  const long = "A man, riding a wave on top of a surfboard. ".repeat(2000);
  const t0 = performance.now();
  const r = scoreCaptions(refs, [{ image_id: 1, caption: long }, {
    image_id: 2,
    caption: "ay".repeat(500_000),
  }], {
    meteor,
  });
  assert.equal(r.tokenized.get("1")!.candidate.split(" ").length, 20_000);
  for (const row of r.perImage.values()) {
    for (const [k, v] of Object.entries(row)) assert.ok(Number.isFinite(v), `${k}: ${v}`);
  }
  assert.ok(r.perImage.get("1")!.METEOR_noparaphrase > 0);
  assert.ok(performance.now() - t0 < 60_000, "safety net");
});

Deno.test("scoreCaptions: a caption over METEOR's candidate limit is an error naming the image and the file", () => {
  const refs = new Map([["1", ["a dog ."]], ["7", ["a ".repeat(1500) + "dog"]]]);
  assert.throws(
    () =>
      scoreCaptions(refs, [{ image_id: 1, caption: "a dog" }, { image_id: 7, caption: "a ".repeat(3000) }], {
        meteor,
        files: { results: "res.json", refs: "refs.json" },
      }),
    /^RangeError: Cannot score "res\.json" against "refs\.json": METEOR: image 7: a caption of 3000 words/,
  );
});
