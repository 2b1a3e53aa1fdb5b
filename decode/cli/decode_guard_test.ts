/**
 * decode never writes over its inputs and never captions bad numbers: each hostile command line fails with
 * its exit status and message before the first batch, and every input file is byte-identical afterwards.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertRefused, type CliResult, endedPid, FileSnapshot, runCli } from "@vlp/testing";
import { createBackend, createModel } from "@vlp/model";
import { type ImageRegions, RegionReader, writeRegionFiles } from "@vlp/features";
import { exportOnnx } from "@vlp/onnx";
import { COCO, IMAGE_ROOT, TINY, tinyRun, VOCAB } from "./test_utils.ts";

const run = (args: string[]) => runCli("decode/cli/decode.ts", args);
const SHARD = join(
  IMAGE_ROOT,
  "feat_cls_1000/coco_detection_vg_100dets_gvd_checkpoint_trainval_feat613.h5",
);

/** A failure before decoding: the status, the message, no stack trace, nothing decoded. */
const refused = (r: CliResult, code: number, text: RegExp, what: string) =>
  assertRefused(r, code, text, { what, started: /decoding \d+ images/ });

Deno.test("decode refuses an output that is one of its inputs, or cannot be written, before any work", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-decode-guard-" });
  try {
    const { common, ckpt, configPath } = await tinyRun(dir);
    const src = join(dir, "dataset_coco.json");
    await Deno.copyFile(join(COCO, "dataset_coco.json"), src);
    await Deno.link(src, join(dir, "src_link.json"));
    await Deno.writeTextFile(join(dir, "a_file"), "mine");
    const args = common.map((a) => (a === join(COCO, "dataset_coco.json") ? src : a));
    const inputs = await FileSnapshot.of(dir, COCO);
    const cases: [string, number, RegExp][] = [
      [
        ckpt,
        2,
        /--output_file ".*model\.3\.bin" is the file of --model_recover_path .* choose another --output_file/,
      ],
      [src, 2, /--output_file ".*dataset_coco\.json" is the file of --src_file/],
      [join(dir, "src_link.json"), 2, /is the file of --src_file .*\(the same file by another path\)/],
      [configPath, 2, /is the file of --config_path/],
      [VOCAB, 2, /is the file of --vocab/],
      [SHARD, 2, /is the file of --image_root \(a region file\) ".*_feat613\.h5"/],
      [dir, 1, /cannot write --output_file ".*": it is a folder/],
      [join(dir, "nowhere", "out.json"), 1, /the folder ".*nowhere" does not exist/],
      [join(dir, "a_file", "out.json"), 1, /".*a_file" is a file, not a folder/],
    ];
    for (const [out, code, text] of cases) {
      refused(await run([...args, "--split", "val", "--output_file", out]), code, text, out);
    }
    await inputs.assertUnchanged("an input changed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decode refuses duplicate image ids, references of other images, and non-finite or absurd region data before the first batch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-decode-guard-" });
  try {
    const { common } = await tinyRun(dir);
    // two val images with one COCO id
    const karpathy = JSON.parse(await Deno.readTextFile(join(COCO, "dataset_coco.json")));
    karpathy.images.push({ ...karpathy.images[2], filename: "COCO_train2014_000000184613.jpg" });
    const dupSrc = join(dir, "dup.json");
    await Deno.writeTextFile(dupSrc, JSON.stringify(karpathy));
    // the val images' regions, with one NaN feature, an Inf class probability, int32 features, a NaN box
    const reader = RegionReader.open({ dataset: "coco", imageRoot: IMAGE_ROOT });
    const val = ["COCO_val2014_000000184613", "COCO_val2014_000000037777"];
    const damaged = async (edit: (r: Map<string, ImageRegions>) => void) => {
      const images = new Map<string, ImageRegions>();
      for (const id of val) {
        const r = await reader.read(id);
        images.set(id, {
          feats: { ...r.feats, data: r.feats.data.slice() },
          cls: r.cls,
          bbox: { ...r.bbox, data: r.bbox.data.slice() },
        });
      }
      edit(images);
      const root = await Deno.makeTempDir({ dir });
      await writeRegionFiles(images, { dataset: "coco", imageRoot: root });
      return root;
    };
    const roots: [string, RegExp][] = [
      [
        await damaged((m) => (m.get(val[1])!.feats.data[3 * 2048 + 5] = NaN)),
        /feats of "COCO_val2014_000000037777" in ".*_feat777\.h5" has NaN at \[3, 5\] \(element 6149\)/,
      ],
      [
        await damaged((m) => (m.get(val[0])!.feats.data.fill(Infinity as never))),
        /feats of "COCO_val2014_000000184613" in ".*_feat613\.h5" has Infinity at \[0, 0\]/,
      ],
      [
        await damaged((m) => {
          m.get(val[0])!.feats = { dtype: "int32", shape: [100, 2048], data: new Int32Array(204800) };
        }),
        /feats of "COCO_val2014_000000184613" in .* is int32, expected float16, float32 or float64/,
      ],
      [
        await damaged((m) => (m.get(val[1])!.bbox.data[2] = NaN)),
        /bbox of "COCO_val2014_000000037777" in ".*trainvaltest\.h5" has NaN at \[0, 2\]/,
      ],
      [
        await damaged((m) => (m.get(val[1])!.bbox.data[6 + 3] = 1e12)),
        /bbox of "COCO_val2014_000000037777" .* has an absurd box: box 1 .* outside/,
      ],
    ];
    reader.close();
    const otherRefs = join(dir, "other_refs.json");
    await Deno.writeTextFile(otherRefs, JSON.stringify({ "1": ["a caption of another image"] }));
    const inputs = await FileSnapshot.of(dir, COCO);
    const out = join(dir, "never.json");
    refused(
      await run([...common, "--split", "val", "--output_file", out, "--src_file", dupSrc]),
      1,
      /dup\.json", split "val": image id 184613 belongs to "COCO_val2014_000000184613\.jpg" and "COCO_train2014_000000184613\.jpg"/,
      "duplicate ids",
    );
    refused(
      await run([...common, "--split", "val", "--output_file", out, "--ref_file", otherRefs]),
      1,
      /--ref_file ".*other_refs\.json" has references for none of the 2 images of split "val": there would be nothing to score/,
      "references of other images",
    );
    for (const [root, text] of roots) {
      const r = await run([
        ...common,
        "--split",
        "val",
        "--no_eval",
        "--output_file",
        out,
        "--image_root",
        root,
      ]);
      refused(r, 1, /problem\(s\) with the region features, nothing decoded/, root);
      assert.match(r.stderr, text);
    }
    await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
    await inputs.assertUnchanged("an input changed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decode --engine onnx: the export's manifest is the configuration; a contradicting --config_path is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vlp-decode-onnx-" });
  try {
    const { config, ckpt, common } = await tinyRun(dir);
    const onnxDir = join(dir, "onnx");
    await exportOnnx(
      await createModel({ config, backend: createBackend("reference"), checkpoint: ckpt }),
      onnxDir,
    );
    const wrong = join(dir, "wrong.json");
    await Deno.writeTextFile(wrong, JSON.stringify({ ...TINY, hidden_size: 16, num_hidden_layers: 3 }));
    // a temporary file a killed run left in the output folder
    const outDir = join(dir, "out");
    await Deno.mkdir(outDir);
    const stale = join(outDir, `.val.json.tmp-${await endedPid()}-0badf00d`);
    await Deno.writeTextFile(stale, "[{");
    const onnx = [
      "--vocab",
      VOCAB,
      ...common.slice(6),
      "--engine",
      "onnx",
      "--onnx_dir",
      onnxDir,
      "--split",
      "val",
    ];
    const inputs = await FileSnapshot.of(onnxDir, COCO, ckpt, wrong);
    const bad = await run([...onnx, "--config_path", wrong, "--output_file", join(outDir, "val.json")]);
    refused(
      bad,
      1,
      /--config_path ".*wrong\.json" contradicts the ONNX export ".*onnx" \(vlp_onnx\.json\): hiddenSize 16 \(the export: 32\), numLayers 3 \(the export: 2\)/,
      "contradicting config",
    );
    // without --config_path the manifest is the truth: V 30522, not BERT-base's 28996
    const good = await run([...onnx, "--no_eval", "--output_file", join(outDir, "val.json")]);
    assert.equal(good.code, 0, good.stderr);
    const results = JSON.parse(await Deno.readTextFile(join(outDir, "val.json")));
    assert.deepEqual(results.map((r: { image_id: number }) => r.image_id), [184613, 37777]);
    await assert.rejects(Deno.stat(stale), Deno.errors.NotFound);
    await inputs.assertUnchanged("an input changed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
