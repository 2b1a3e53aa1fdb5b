import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { FileSnapshot, fixturePath, Rng, runCli } from "@vlp/testing";
import {
  evalImageId,
  imagesOfSplits,
  loadAnswerVocab,
  loadKarpathy,
  loadValidJpgs,
  loadVqaImdb,
  RegionReader,
  vqaSoftScores,
} from "@vlp/features";
import { parseReferences, parseVqaAnnotations } from "@vlp/eval";
import { BertTokenizer, Vocab } from "@vlp/tokenizer";
import { captionsFor } from "./captions.ts";
import { CODE_SIZE, SceneDetector, SHAPE_CLASSES } from "./detector.ts";
import { makeScenes, readSceneManifest, SCENE_FILES, type SceneRecord, sceneRecord } from "./make_scenes.ts";
import { ALL_ANSWERS, humanAnswers, questionsFor } from "./questions.ts";
import { CANVAS, holds, matching, relation, sampleScene, SHAPES, side } from "./scene.ts";
import { buildAnswerList, buildWordpieceVocab } from "./vocab.ts";

const scenes = (n: number, seed = 3) =>
  Array.from({ length: n }, (_, i) => sampleScene(new Rng(seed * 1000 + i), i + 1));

Deno.test("scenes: 2-6 objects inside the canvas, no overlaps, largest clearly first, deterministic", () => {
  const counts = new Set<number>();
  for (const s of scenes(300)) {
    counts.add(s.objects.length);
    ok(s.objects.length >= 2 && s.objects.length <= 6);
    for (const [i, o] of s.objects.entries()) {
      ok(o.cx - o.r >= 0 && o.cx + o.r <= CANVAS.width && o.cy - o.r >= 0 && o.cy + o.r <= CANVAS.height);
      for (const p of s.objects.slice(i + 1)) ok(Math.hypot(o.cx - p.cx, o.cy - p.cy) > o.r + p.r);
    }
    ok(s.objects[0]!.r >= 1.1 * s.objects[1]!.r);
  }
  deepEqual([...counts].sort(), [2, 3, 4, 5, 6]);
  deepEqual(sampleScene(new Rng(9), 1), sampleScene(new Rng(9), 1));
});

Deno.test("captions: five different ones, about the two largest objects and the count", () => {
  for (const s of scenes(200)) {
    const caps = captionsFor(s, new Rng(s.id));
    equal(caps.length, 5);
    equal(new Set(caps).size, 5);
    const [a, b] = s.objects;
    for (const c of caps) {
      ok(c.includes(`${a!.colour} ${a!.shape}`), `${c} names the largest object`);
    }
    ok(caps.some((c) => c.includes(`${b!.colour} ${b!.shape}`)));
    // the relation words of the first template are geometrically true
    const rel = relation(a!, b!);
    ok(holds(a!, b!, rel) || Math.max(Math.abs(a!.cx - b!.cx), Math.abs(a!.cy - b!.cy)) <= 40);
  }
});

Deno.test("questions: answers agree with the scene; ten human answers, mostly right; all in VQA's list", async () => {
  const real = await loadAnswerVocab(fixturePath("data/vqa2_answers_vqa.txt"));
  for (const a of ALL_ANSWERS) ok(real.indexOf(a) !== real.unkIndex, `"${a}" is a VQA 2.0 answer`);
  let agree = 0, total = 0;
  const kinds = new Set<string>();
  for (const s of scenes(200)) {
    const qs = questionsFor(s, new Rng(s.id), 5);
    equal(qs.length, 5);
    for (const q of qs) {
      kinds.add(q.questionType);
      equal(q.answers.length, 10);
      for (const a of q.answers) ok(ALL_ANSWERS.includes(a), a);
      agree += q.answers.filter((a) => a === q.answer).length;
      total += 10;
      const big = s.objects[0]!;
      let m;
      if ((m = /^how many (?:(\w+) )?(?:shapes|objects) are there\?$/.exec(q.question))) {
        const n = m[1] ? matching(s, { colour: m[1] as never }).length : s.objects.length;
        equal(q.answer, String(n), q.question);
      } else if ((m = /^is there an? (\w+) (?:shape|object)\?$/.exec(q.question))) {
        equal(q.answer, matching(s, { colour: m[1] as never }).length ? "yes" : "no");
      } else if (
        /^what (?:color is|is the color of) the (?:biggest|largest) (?:shape|object)\?$/.test(q.question)
      ) {
        equal(q.answer, big.colour);
      } else if (/^what shape is the (?:biggest|largest) (?:shape|object)\?$/.test(q.question)) {
        equal(q.answer, big.shape);
      } else if ((m = /^is the (?:biggest|largest) (?:shape|object) a (\w+)\?$/.exec(q.question))) {
        equal(q.answer, m[1] === big.shape ? "yes" : "no");
      } else if (/^which side is the (?:biggest|largest) (?:shape|object) on\?$/.test(q.question)) {
        equal(q.answer, side(big));
      } else if (
        (m = /^is the (\w+) (\w+) (to the left of|to the right of|above|below) the (\w+) (\w+)\?$/.exec(
          q.question,
        ))
      ) {
        const [a, b] = s.objects;
        deepEqual([m[1], m[2], m[4], m[5]], [a!.colour, a!.shape, b!.colour, b!.shape]);
        const rel = m[3]!.replace("to the ", "") as never;
        equal(q.answer, holds(a!, b!, rel) ? "yes" : "no", q.question);
      } else {
        throw new Error(`unexpected question ${q.question}`);
      }
    }
  }
  const p = agree / total;
  ok(p > 0.9 && p < 0.97, `annotators agree with the truth ${p}`);
  for (const k of ["how many", "is there a", "is the", "what shape is the", "which side is the"]) {
    ok(kinds.has(k), k);
  }
  // disagreement exists, and soft scores give the right answer full credit when 4+ agree
  const rng = new Rng(1);
  ok(Array.from({ length: 50 }, () => new Set(humanAnswers("red", "other", rng)).size).some((n) => n > 1));
});

Deno.test("vocabularies: BERT's special ids, no [UNK] for any caption or question, the answer list", () => {
  const recs = Array.from({ length: 50 }, (_, i) => sceneRecord(5, i + 1, 50));
  const texts = recs.flatMap((r) => [...r.captions, ...r.questions.map((q) => q.question)]);
  const words = buildWordpieceVocab(texts);
  const vocab = Vocab.parse(words.join("\n"), "vocab.txt");
  deepEqual(
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map((t) => vocab.id(t)),
    [0, 100, 101, 102, 103],
  );
  equal(vocab.token(2), "[X_SEP]"); // VLP renames [unused1] (id 2)
  const tok = new BertTokenizer(vocab, { lowerCase: true });
  for (const t of texts) {
    const ids = tok.encodeIds(t);
    ok(!ids.includes(100), t);
    ok(ids.length <= 20, `${t}: ${ids.length} wordpieces`);
  }
  ok(!tok.encodeIds("a zebra under a kite?").includes(100));
  const answers = buildAnswerList([...ALL_ANSWERS, "red", "<unk>"]);
  deepEqual(answers, ["<unk>", ...[...ALL_ANSWERS].sort()]);
});

Deno.test("detector: VLP's shapes, one confident detection per object, class rows sum to 1", () => {
  const det = new SceneDetector();
  for (const s of scenes(10)) {
    const r = det.detect(s, new Rng(s.id));
    deepEqual([r.feats.shape, r.cls.shape, r.bbox.shape], [[100, 2048], [100, 1601], [100, 6]]);
    equal(r.feats.dtype, "float16");
    const box = r.bbox.data as Float32Array, cls = r.cls.data as Float16Array;
    let confident = 0;
    for (let i = 0; i < 100; i++) {
      const [x1, y1, x2, y2, c, conf] = box.subarray(i * 6, i * 6 + 6);
      ok(x1! >= 0 && x2! > x1! && y2! > y1! && x2! < CANVAS.width && y2! < CANVAS.height);
      let sum = 0, best = 1;
      for (let k = 0; k < 1601; k++) {
        sum += cls[i * 1601 + k]!;
        if (k > 0 && cls[i * 1601 + k]! > cls[i * 1601 + best]!) best = k;
      }
      ok(Math.abs(sum - 1) < 0.02, `row ${i} sums to ${sum}`);
      ok(
        cls[i * 1601 + c!]! >= cls[i * 1601 + best]! - 1e-3,
        `row ${i}: box class ${c} is the best (float16 ties aside)`,
      );
      ok(Math.abs(conf! - cls[i * 1601 + best]!) < 1e-3); // float16 storage
      if (conf! >= 0.6) {
        confident++;
        ok(Object.values(SHAPE_CLASSES).includes(c!));
      }
    }
    equal(confident, s.objects.length);
    ok([...r.feats.data as Float16Array].every((v) => v >= 0));
  }
  deepEqual(det.detect(scenes(1)[0]!, new Rng(4)), det.detect(scenes(1)[0]!, new Rng(4)));
});

Deno.test("detector: attributes are recoverable from the noisy features (nearest centroid), not copied", () => {
  const det = new SceneDetector({ dtype: "float32" });
  type Ex = { f: Float32Array; colour: string; shape: string };
  const collect = (ss: ReturnType<typeof scenes>): Ex[] =>
    ss.flatMap((s) => {
      const r = det.detect(s, new Rng(s.id + 77));
      const box = r.bbox.data as Float32Array, f = r.feats.data as Float32Array;
      const out: Ex[] = [];
      for (let i = 0; i < 100; i++) {
        if (box[i * 6 + 5]! < 0.6) continue;
        // match the detection to its object by box centre
        const cx = (box[i * 6]! + box[i * 6 + 2]!) / 2, cy = (box[i * 6 + 1]! + box[i * 6 + 3]!) / 2;
        const o = s.objects.reduce((a, b) =>
          Math.hypot(a.cx - cx, a.cy - cy) < Math.hypot(b.cx - cx, b.cy - cy) ? a : b
        );
        out.push({ f: f.slice(i * 2048, (i + 1) * 2048), colour: o.colour, shape: o.shape });
      }
      return out;
    });
  const train = collect(scenes(60, 11)), test = collect(scenes(30, 12));
  const accuracy = (key: "colour" | "shape") => {
    const cent = new Map<string, Float64Array>(), n = new Map<string, number>();
    for (const e of train) {
      const c = cent.get(e[key]) ?? new Float64Array(2048);
      e.f.forEach((v, j) => (c[j]! += v));
      cent.set(e[key], c);
      n.set(e[key], (n.get(e[key]) ?? 0) + 1);
    }
    for (const [k, c] of cent) c.forEach((v, j) => (c[j] = v / n.get(k)!));
    let right = 0;
    for (const e of test) {
      let best = "", bd = Infinity;
      for (const [k, c] of cent) {
        let d = 0;
        for (let j = 0; j < 2048; j++) d += (e.f[j]! - c[j]!) ** 2;
        if (d < bd) [bd, best] = [d, k];
      }
      if (best === e[key]) right++;
    }
    return right / test.length;
  };
  ok(accuracy("colour") > 0.9, `colour ${accuracy("colour")}`);
  ok(accuracy("shape") > 0.9, `shape ${accuracy("shape")}`);
  // same attributes, different features: noise and jitter, no lookup table
  const a = train.find((e) => e.colour === "red" && e.shape === "circle")!;
  const b = train.filter((e) => e.colour === "red" && e.shape === "circle")[1]!;
  ok(a.f.some((v, j) => Math.abs(v - b.f[j]!) > 0.5));
  equal(CODE_SIZE, 24);
});

Deno.test("makeScenes: a small set in VLP's formats, read back by @vlp/features and @vlp/eval", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scenes_test_" });
  try {
    const m = await makeScenes({ out: dir, images: 20, seed: 2, dtype: "float32" });
    deepEqual(m.splits, { train: 16, val: 2, test: 2 });
    deepEqual(await readSceneManifest(dir), m);
    const kp = await loadKarpathy(join(dir, SCENE_FILES.karpathy));
    equal(kp.images.length, 20);
    const test = imagesOfSplits(kp, ["test"]);
    deepEqual(test.map((img) => evalImageId("coco", img)), [19, 20]);
    equal(test[0]!.filename, "COCO_scenes_000000000019.jpg");
    equal((await loadValidJpgs(join(dir, SCENE_FILES.validJpgs))).size, 20);
    const reader = RegionReader.open({ dataset: "coco", imageRoot: join(dir, SCENE_FILES.imageRoot) });
    try {
      const { feats, visPe } = await reader.load("COCO_scenes_000000000019");
      equal(feats.length, 100 * 2048);
      equal(visPe.length, 100 * 1607);
      equal((await reader.read("COCO_scenes_000000000007")).feats.dtype, "float32");
    } finally {
      reader.close();
    }
    const answers = await loadAnswerVocab(join(dir, SCENE_FILES.answers), ALL_ANSWERS.length + 1);
    for (const split of ["train", "val", "test"] as const) {
      const imdb = await loadVqaImdb(join(dir, SCENE_FILES.imdb[split]), { requireAnswers: true });
      equal(imdb.questions.length, m.questions[split]);
      for (const q of imdb.questions) {
        ok(Math.max(...vqaSoftScores(q.answers!, answers)) > 0);
        equal(q.feature_path, `${q.image_name}.npy`);
      }
    }
    const ann = parseVqaAnnotations(
      await Deno.readTextFile(join(dir, SCENE_FILES.vqaAnnotations.test)),
      "ann",
    );
    equal(ann.length, m.questions.test);
    const refs = parseReferences(await Deno.readTextFile(join(dir, SCENE_FILES.captionRefs.test)), "refs");
    deepEqual([...refs.keys()], ["19", "20"]);
    equal(refs.get("19")!.length, 5);
    const scenesJson = JSON.parse(await Deno.readTextFile(join(dir, SCENE_FILES.scenes)));
    const rec = scenesJson.images[18] as SceneRecord;
    deepEqual(rec, JSON.parse(JSON.stringify(sceneRecord(2, 19, 20))));
    ok(SHAPES.includes(rec.objects[0]!.shape));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("makeScenes: --answers takes a real list that has every answer, refuses one that lacks some", async () => {
  const dir = await Deno.makeTempDir({ prefix: "scenes_test_" });
  try {
    await makeScenes({ out: dir, images: 10, answers: fixturePath("data/vqa2_answers_vqa.txt") });
    equal(
      await Deno.readTextFile(join(dir, SCENE_FILES.answers)),
      (await loadAnswerVocab(fixturePath("data/vqa2_answers_vqa.txt"))).words.join("\n") + "\n",
    );
    const bad = await Deno.makeTempFile({ prefix: "answers_" });
    await Deno.writeTextFile(bad, buildAnswerList(["red"]).join("\n"));
    let err: Error | undefined;
    await makeScenes({ out: dir, images: 10, answers: bad }).catch((e) => (err = e));
    await Deno.remove(bad);
    ok(/lacks 0, 1, 2/.test(err!.message), err?.message);
    equal((await readSceneManifest(dir))?.images, 10, "the refused run left the previous set as it was");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("make-scenes never writes into a folder it did not make, and a rerun replaces only its own files", async () => {
  const run = (args: string[]) => runCli("demo/cli/make_scenes.ts", args);
  const dir = await Deno.makeTempDir({ prefix: "scenes_guard_" });
  try {
    // someone else's folder with a vocab.txt of the same name: refused, untouched
    const theirs = join(dir, "theirs");
    await Deno.mkdir(theirs);
    await Deno.writeTextFile(join(theirs, "vocab.txt"), "[PAD]\nmy own vocabulary\n");
    const before = await FileSnapshot.of(theirs);
    const r = await run(["--out", theirs, "--images", "10"]);
    equal(r.code, 1, r.stderr);
    match(r.stderr, /^make-scenes: ".*theirs" is not empty \(vocab\.txt\) and make-scenes did not make it/);
    equal(r.stderr.trim().split("\n").length, 1);
    await before.assertUnchanged();
    // its own folder: a rerun with other options replaces the set
    const mine = join(dir, "mine");
    equal((await run(["--out", mine, "--images", "20", "--seed", "1"])).code, 0);
    const again = await run(["--out", mine, "--images", "10", "--seed", "3"]);
    equal(again.code, 0, again.stderr);
    equal((await readSceneManifest(mine))?.images, 10);
    // a file of the user's inside it stops the rerun before anything is removed
    await Deno.writeTextFile(join(mine, "annotations", "notes.txt"), "mine");
    const ours = await FileSnapshot.of(mine);
    const stop = await run(["--out", mine, "--images", "10"]);
    equal(stop.code, 1);
    match(
      stop.stderr,
      /holds 1 file\(s\) it did not write or that changed since \("annotations\/notes\.txt"\): nothing removed/,
    );
    await ours.assertUnchanged();
    await Deno.remove(join(mine, "annotations", "notes.txt"));
    const set = await FileSnapshot.of(mine);
    // --answers that is one of the outputs: exit 2, untouched
    const answers = await run(["--out", mine, "--images", "10", "--answers", join(mine, "answers_vqa.txt")]);
    equal(answers.code, 2, answers.stderr);
    match(answers.stderr, /--out ".*answers_vqa\.txt" is the file of --answers/);
    await set.assertUnchanged();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("make-scenes CLI: bad flags exit 2; a run prints one JSON line of figures", async () => {
  const run = (args: string[]) => runCli("demo/cli/make_scenes.ts", args);
  const bad = await run(["--images", "5", "--out", "x"]);
  equal(bad.code, 2);
  ok(bad.stderr.includes("--images must be at least 10"));
  equal((await run([])).code, 2);
  const dir = await Deno.makeTempDir({ prefix: "scenes_cli_" });
  try {
    const r = await run(["--out", dir, "--images", "10", "--seed", "4"]);
    equal(r.code, 0, r.stderr);
    deepEqual([r.json.images, r.json.splits, r.json.captions], [10, { train: 8, val: 1, test: 1 }, 50]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
