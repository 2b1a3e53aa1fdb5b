import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "@vlp/testing";
import { createBackend, createModel, readBertConfig } from "@vlp/model";
import { featureDir, featureId, loadKarpathy, RegionReader } from "@vlp/features";
import { Vocab } from "@vlp/tokenizer";
import { exportOnnx } from "@vlp/onnx";
import { CaptionDecoder } from "../caption_decoder.ts";
import { captionText } from "../captions.ts";
import { COCO, IMAGE_ROOT, TINY, tinyRun, VOCAB } from "./test_utils.ts";

const run = (args: string[]) => runCli("decode/cli/decode.ts", args);

/** The captions the library gives for a split (what the CLI must write). */
async function libraryCaptions(ckpt: string, configPath: string, split: string, width: number) {
  const config = await readBertConfig(configPath);
  const model = await createModel({ config, backend: createBackend("reference"), checkpoint: ckpt });
  const vocab = await Vocab.load(VOCAB);
  const images = (await loadKarpathy(join(COCO, "dataset_coco.json"))).images.filter((i) =>
    i.split === split
  );
  const reader = RegionReader.open({ dataset: "coco", imageRoot: IMAGE_ROOT });
  const feats: Float32Array[] = [], visPe: Float32Array[] = [];
  for (const img of images) {
    const r = await reader.load(featureId(img), featureDir(img));
    feats.push(r.feats);
    visPe.push(r.visPe);
  }
  reader.close();
  const cat = (xs: Float32Array[]) => {
    const o = new Float32Array(xs.reduce((s, x) => s + x.length, 0));
    let off = 0;
    for (const x of xs) o.set(x, (off += x.length) - x.length);
    return o;
  };
  const dec = new CaptionDecoder(model, { maxImages: images.length, maxWidth: width });
  const batch = { regionFeats: cat(feats), visPe: cat(visPe) };
  if (width > 1) {
    const r = await dec.beam(batch, { width, forbidDuplicateNgrams: true, minLen: 3 });
    return r.hypotheses.map((h) => captionText(h.tokens, vocab));
  }
  const r = await dec.greedy(batch);
  return images.map((_, b) => captionText(r.ids.subarray(b * 20, (b + 1) * 20), vocab));
}

Deno.test("decode CLI on the vlp-formats COCO files with a tiny checkpoint: results JSON, metrics, bad inputs", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-decode-" });
  try {
    const { configPath, config, ckpt, common } = await tinyRun(dir);

    await t.step("greedy on val: the library's captions, scored against the split's sentences", async () => {
      const out = join(dir, "val.json");
      const r = await run([...common, "--split", "val", "--batch_size", "1", "--output_file", out]);
      assert.equal(r.code, 0, r.stderr);
      const results = JSON.parse(await Deno.readTextFile(out));
      assert.deepEqual(results.map((x: { image_id: number }) => x.image_id), [184613, 37777]);
      const expected = await libraryCaptions(ckpt, configPath, "val", 1);
      assert.deepEqual(results.map((x: { caption: string }) => x.caption), expected);
      assert.ok(expected.every((c) => c.length > 0 && !c.includes("[SEP]") && !c.includes(" ##")));
      const figures = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assert.equal(figures.images, 2);
      assert.equal(figures.batches, 2);
      assert.equal(figures.scored_images, 2);
      for (const k of ["Bleu_4", "ROUGE_L", "CIDEr"]) assert.equal(typeof figures.metrics[k], "number");
      assert.match(r.stderr, /CIDEr: /);
      assert.match(r.stderr, /images\/s/);
    });

    await t.step("beam search on test with blocking and min_len; default output name", async () => {
      const cwd = join(dir, "cwd");
      await Deno.mkdir(cwd);
      const out = await runCli(
        "decode/cli/decode.ts",
        [...common, "--split", "test", "--beam_size", "3", "--forbid_duplicate_ngrams"]
          .concat(["--min_len", "3", "--no_eval", "--enable_butd", "--new_segment_ids"]),
        { cwd, env: { INIT_CWD: cwd } },
      );
      assert.equal(out.code, 0, out.stderr);
      const results = JSON.parse(await Deno.readTextFile(join(cwd, "eval_results", "run-test-3_test.json")));
      assert.deepEqual(results.map((x: { image_id: number }) => x.image_id), [318219, 252219]);
      assert.deepEqual(
        results.map((x: { caption: string }) => x.caption),
        await libraryCaptions(ckpt, configPath, "test", 3),
      );
    });

    await t.step("--engine onnx: the same beam captions with onnxruntime-web doing the compute", async () => {
      const onnxDir = join(dir, "onnx");
      const model = await createModel({ config, backend: createBackend("reference"), checkpoint: ckpt });
      await exportOnnx(model, onnxDir);
      const out = join(dir, "onnx_test.json");
      const r = await run([
        ...common.slice(2), // no --model_recover_path: the export is all the onnx engine needs
        ...["--engine", "onnx", "--onnx_dir", onnxDir, "--split", "test", "--beam_size", "3"],
        ...["--forbid_duplicate_ngrams", "--min_len", "3", "--no_eval", "--output_file", out],
      ]);
      assert.equal(r.code, 0, r.stderr);
      const results = JSON.parse(await Deno.readTextFile(out));
      assert.deepEqual(
        results.map((x: { caption: string }) => x.caption),
        await libraryCaptions(ckpt, configPath, "test", 3),
      );
      assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!).backend, "onnxruntime-web/wasm");
      assert.equal((await run([...common, "--engine", "onnx"])).code, 2); // no --onnx_dir
    });

    await t.step("bad inputs fail before decoding, writing nothing", async () => {
      const out = join(dir, "never.json");
      const cases: [string[], number, RegExp][] = [
        [["--image_root", dir], 1, /problem\(s\) with the region features, nothing decoded/],
        [["--config_path", join(dir, "wrong.json")], 1, /Cannot (read BERT config|load checkpoint)/],
        [["--dataset", "cc"], 2, /--file_valid_jpgs is required for cc/],
        [
          ["--dataset", "cc", "--file_valid_jpgs", join(dir, "missing.json")],
          1,
          /valid-jpgs file .* no such file/,
        ],
        [["--beam_size", "0"], 2, /beam_size/],
        [["--vocab", join(COCO, "coco_valid_jpgs.json")], 1, /vocabulary/],
      ];
      await Deno.writeTextFile(join(dir, "wrong.json"), JSON.stringify({ ...TINY, hidden_size: 16 }));
      for (const [extra, code, msg] of cases) {
        const r = await run([...common, ...extra, "--output_file", out]);
        assert.equal(r.code, code, `${extra.join(" ")}: ${r.stderr}`);
        assert.match(r.stderr, msg);
        assert.ok(!/decoding \d+ images/.test(r.stderr), "decoding must not start");
      }
      await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
