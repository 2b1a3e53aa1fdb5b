/**
 * `caption`: one command gives the captions of `extract-features` followed by `decode` (the small detector,
 * the vlp-tiny model), one line per readable image and a JSON line; the corrupt image is named and skipped.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DETECT_TESTDATA, runCli, SMALL_DETECTOR_FLAGS, tinyVlpFlags } from "@vlp/testing";

const DETECTOR = [...SMALL_DETECTOR_FLAGS, "--images", join(DETECT_TESTDATA, "images")];

Deno.test("caption: the captions of extract-features + decode, in one command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = await tinyVlpFlags(dir);
    const root = join(dir, "root");
    const ex = await runCli("detect/cli/extract_features.ts", [...DETECTOR, "--out", root]);
    assert.equal(ex.code, 0, ex.stderr);
    const dec = await runCli("decode/cli/decode.ts", [
      ...model,
      "--image_root",
      root,
      "--src_file",
      join(root, "dataset_coco.json"),
      "--split",
      "test",
      "--output_file",
      join(dir, "caps.json"),
      "--no_eval",
      "--beam_size",
      "2",
    ]);
    assert.equal(dec.code, 0, dec.stderr);
    const ds = JSON.parse(await Deno.readTextFile(join(root, "dataset_coco.json")));
    const sourceOf = new Map(ds.images.map((i: { imgid: number; source: string }) => [i.imgid, i.source]));
    const expected = (JSON.parse(await Deno.readTextFile(join(dir, "caps.json"))) as {
      image_id: number;
      caption: string;
    }[]).map((c) => ({ image: sourceOf.get(c.image_id), caption: c.caption }));

    const cap = await runCli("cli/caption.ts", [
      ...DETECTOR,
      ...model,
      "--beam_size",
      "2",
      "--batch_size",
      "2",
    ]);
    assert.equal(cap.code, 0, cap.stderr);
    const results = (cap.json as { results: { image: string; caption: string }[] }).results;
    assert.deepEqual(results, expected);
    assert.deepEqual(
      cap.stdout.trim().split("\n").slice(0, -1),
      expected.map((e) => `${e.image}\t${e.caption}`),
    );
    assert.match(cap.stderr, /skipped ".*corrupt\.jpg"/);
    assert.equal((cap.json as { skipped: number }).skipped, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
