import assert from "node:assert/strict";
import { fixturePath } from "@vlp/testing";
import { Meteor } from "./meteor.ts";
import { loadMeteorResources } from "./resources.ts";
import { snowballEnglish } from "./snowball_english.ts";

interface Expected {
  metrics: Record<string, number>;
  per_image: Record<string, Record<string, number>>;
  tokenized: Record<string, { refs: string[]; candidate: string }>;
}

const res = await loadMeteorResources(fixturePath("data/meteor"));

for (const name of ["cap_fakecap126", "cap_tricky65"]) {
  Deno.test(`METEOR_noparaphrase on tokenized ${name}: corpus and every image within 1e-9`, () => {
    const exp: Expected = JSON.parse(
      Deno.readTextFileSync(fixturePath(`fixtures/metrics/${name}.expected.json`)),
    );
    const ids = Object.keys(exp.tokenized);
    const r = new Meteor(res).score(
      ids.map((id) => exp.tokenized[id].candidate),
      ids.map((id) => exp.tokenized[id].refs),
    );
    assert.equal(r.name, "METEOR_noparaphrase");
    const bad = ids.filter((id, i) =>
      !(Math.abs(r.perImage[i] - exp.per_image[id].METEOR_noparaphrase) <= 1e-9)
    )
      .map((id) => `${id}: ${r.perImage[ids.indexOf(id)]} vs ${exp.per_image[id].METEOR_noparaphrase}`);
    assert.deepEqual(bad, []);
    assert.ok(
      Math.abs(r.score - exp.metrics.METEOR_noparaphrase) <= 1e-9,
      `${r.score} vs ${exp.metrics.METEOR_noparaphrase}`,
    );
  });
}

Deno.test("METEOR with a paraphrase table (hand-made paraphrase_tiny.gz) equals Meteor 1.5 per segment and corpus", async () => {
  const exp = JSON.parse(
    Deno.readTextFileSync(new URL("../testdata/meteor_paraphrase_tiny.expected.json", import.meta.url)),
  );
  const segs: { refs: string[]; hypothesis: string; METEOR: number; METEOR_noparaphrase: number }[] =
    exp.segments;
  const para = await loadMeteorResources(
    fixturePath("data/meteor"),
    new URL("../testdata/paraphrase_tiny.gz", import.meta.url).pathname,
  );
  for (const [r, key] of [[para, "METEOR"], [res, "METEOR_noparaphrase"]] as const) {
    const out = new Meteor(r).score(segs.map((s) => s.hypothesis), segs.map((s) => s.refs));
    assert.equal(out.name, key);
    const bad = segs.map((s, i) => [i, out.perImage[i], s[key]] as const).filter(([, a, e]) =>
      !(Math.abs(a - e) <= 1e-9)
    );
    assert.deepEqual(bad, [], key);
    assert.ok(Math.abs(out.score - exp.corpus[key]) <= 1e-9, `${key}: ${out.score} vs ${exp.corpus[key]}`);
  }
});

Deno.test("Snowball English stemmer on a sample of words (checked against Meteor's Java stemmer)", () => {
  const cases: Record<string, string> = {
    generously: "generous",
    skis: "ski",
    skies: "sky",
    dying: "die",
    news: "news",
    inning: "inning",
    succeeded: "succeed",
    running: "run",
    hopping: "hop",
    hoping: "hope",
    agreed: "agre",
    feed: "feed",
    relational: "relat",
    conditional: "condit",
    rational: "ration",
    valency: "valenc",
    hesitancy: "hesit",
    digitizer: "digit",
    conformabli: "conform",
    radicalli: "radic",
    differentli: "differ",
    vileli: "vile",
    analogousli: "analog",
    vietnamization: "vietnam",
    predication: "predic",
    operator: "oper",
    feudalism: "feudal",
    decisiveness: "decis",
    hopefulness: "hope",
    callousness: "callous",
    formaliti: "formal",
    sensitiviti: "sensit",
    sensibiliti: "sensibl",
    triplicate: "triplic",
    formative: "format",
    formalize: "formal",
    electriciti: "electr",
    electrical: "electr",
    goodness: "good",
    "'tis": "tis",
    "dog's": "dog",
    cries: "cri",
    ties: "tie",
    yelling: "yell",
    sky: "sky",
    say: "say",
    boyish: "boyish",
    enjoying: "enjoy",
    "generate": "generat",
    communism: "communism",
    arsenal: "arsenal",
    bicycles: "bicycl",
    skateboarding: "skateboard",
    giraffes: "giraff",
  };
  const wrong = Object.entries(cases).filter(([w, s]) => snowballEnglish(w) !== s).map(([w, s]) =>
    `${w}: ${snowballEnglish(w)} != ${s}`
  );
  assert.deepEqual(wrong, []);
});

Deno.test("Snowball English stemmer: y after vowels, and a 1-MB word of them in linear time", () => {
  assert.equal(snowballEnglish("yayy"), "yayi");
  assert.equal(snowballEnglish("sayyid"), "sayyid");
  assert.equal(snowballEnglish("employed"), "employ");
  const t0 = performance.now();
  const long = snowballEnglish("ay".repeat(500_000));
  assert.equal(long.length, 1_000_000);
  assert.ok(!long.includes("Y"));
  // Safety net only (rebuilding the word per y took minutes).
  assert.ok(performance.now() - t0 < 20_000);
});
