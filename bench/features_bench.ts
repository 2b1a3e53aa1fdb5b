/**
 * Region-feature read throughput from float16 HDF5 shards (CC layout: `[R, F]` features and `[R, K]` class
 * probabilities in float16, boxes in float32), side by side with Debian's h5py reading the same files.
 *
 * As a script (`deno run -A bench/features_bench.ts [--images N] [--rounds R] [--python PATH] [--record]`): writes a
 * feature shard, a class shard and a bbox file of N images (default 300, about 220 MB) into a temporary
 * folder, then for R rounds (default 3) times, in turn, our reader and `/usr/bin/python3` + h5py over all
 * images: (1) the float16 feature array alone, (2) all three arrays of an image as stored; ours also
 * (3) the model inputs (features as float32 + the 1607-d region vector). Both sides sum what they read,
 * and the sums must agree. Prints a table to stderr and ends with one JSON line of the best round of each.
 * Under `deno bench` it registers a small version of (1) and (3).
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import { H5File } from "@vlp/io";
import { type ImageRegions, RegionReader, writeRegionFiles } from "@vlp/features";
import { Rng } from "@vlp/testing";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

const Flags = z.object({
  images: integer(1).default(300),
  rounds: integer(1).default(3),
  python: z.string().min(1).default("/usr/bin/python3"),
  ...recordFlag,
});
const CMD: Command<z.infer<typeof Flags>> = {
  name: "features_bench",
  usage: `Usage: deno run -A bench/features_bench.ts [--images N] [--rounds R] [--python PATH] [--record]
  --images N     images in the shards (default 300, about 220 MB)
  --rounds R     alternating rounds of ours and h5py (default 3; the best is reported)
  --python PATH  the Python with h5py (default /usr/bin/python3)
${RECORD_USAGE}`,
  flags: Flags,
};

const R = 100, F = 2048, K = 1601;

/** Write N images into the CC layout under `root`; ids all end in "000", so one shard holds them. */
async function makeData(root: string, n: number): Promise<string[]> {
  const rng = new Rng(11);
  const images = new Map<string, ImageRegions>();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${1000 + i}000`;
    const feats = new Float16Array(R * F), cls = new Float16Array(R * K), bbox = new Float32Array(R * 6);
    for (let j = 0; j < feats.length; j++) feats[j] = rng.float() * 8;
    for (let j = 0; j < cls.length; j++) cls[j] = rng.float() / K;
    for (let r = 0; r < R; r++) {
      const x = rng.float() * 500, y = rng.float() * 400;
      bbox.set([x, y, x + rng.float() * 100, y + rng.float() * 100, rng.int(K), rng.float()], r * 6);
    }
    images.set(id, {
      feats: { dtype: "float16", shape: [R, F], data: feats },
      cls: { dtype: "float16", shape: [R, K], data: cls },
      bbox: { dtype: "float32", shape: [R, 6], data: bbox },
    });
    ids.push(id);
  }
  await writeRegionFiles(images, { dataset: "cc", imageRoot: root });
  return ids;
}

const PY = `
import sys, json, time
import h5py, numpy as np
feat, cls, bbox, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ids = [str(1000 + i) + "000" for i in range(n)]
out = {}
with h5py.File(feat, "r") as f:
    t = time.perf_counter(); s = 0.0
    for k in ids:
        a = f[k][:]; s += float(a[0, 0])
    out["feat_s"] = time.perf_counter() - t; out["feat_sum"] = s
with h5py.File(feat, "r") as f, h5py.File(cls, "r") as c, h5py.File(bbox, "r") as b:
    t = time.perf_counter(); s = 0.0
    for k in ids:
        a = f[k][:]; p = c[k][:]; x = b[k][:]; s += float(a[0, 0]) + float(p[0, 0]) + float(x[0, 0])
    out["full_s"] = time.perf_counter() - t; out["full_sum"] = s
print(json.dumps(out))
`;

interface Round {
  feat_s: number;
  full_s: number;
  feat_sum: number;
  full_sum: number;
}

async function python(py: string, paths: string[], n: number): Promise<Round | null> {
  try {
    const out = await new Deno.Command(py, { args: ["-c", PY, ...paths, String(n)], stderr: "piped" })
      .output();
    if (!out.success) {
      console.error(`h5py side failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`);
      return null;
    }
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } catch (e) {
    console.error(`h5py side unavailable: ${(e as Error).message}`);
    return null;
  }
}

async function ours(ids: string[], reader: RegionReader, feat: H5File): Promise<Round & { load_s: number }> {
  {
    let t = performance.now(), s = 0;
    for (const id of ids) s += Number(feat.read(id).data[0]);
    const feat_s = (performance.now() - t) / 1000, feat_sum = s;
    t = performance.now();
    s = 0;
    for (const id of ids) {
      const r = await reader.read(id);
      s += Number(r.feats.data[0]) + Number(r.cls.data[0]) + Number(r.bbox.data[0]);
    }
    const full_s = (performance.now() - t) / 1000, full_sum = s;
    t = performance.now();
    for (const id of ids) {
      const x = await reader.load(id);
      s += x.visPe[0]!;
    }
    return { feat_s, full_s, feat_sum, full_sum, load_s: (performance.now() - t) / 1000 };
  }
}

async function main(values: z.infer<typeof Flags>): Promise<void> {
  const n = values.images, rounds = values.rounds;
  const dir = await Deno.makeTempDir({ prefix: "features_bench" });
  try {
    console.error(`writing ${n} images of float16 shards into ${dir} ...`);
    const t0 = performance.now();
    const ids = await makeData(dir, n);
    const writeS = (performance.now() - t0) / 1000;
    const prefix = `${dir}/feat_cls_1000_float16/cc_detection_vg_100dets_gvd_checkpoint_trainval`;
    const paths = [
      `${prefix}_feat000.h5`,
      `${prefix}_cls000.h5`,
      `${dir}/bbox/cc_detection_vg_thresh0.2_feat_gvd_checkpoint_trainval.h5`,
    ];
    const mb = (await Promise.all(paths.map((p) => Deno.stat(p)))).reduce((a, s) => a + s.size, 0) / 1e6;
    const reader = RegionReader.open({ dataset: "cc", imageRoot: dir });
    const feat = await H5File.open(paths[0]!);
    // warm the page cache and both libraries
    await ours(ids.slice(0, 20), reader, feat);
    await python(values.python, paths, 20);
    const mine: (Round & { load_s: number })[] = [], theirs: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      mine.push(await ours(ids, reader, feat));
      const p = await python(values.python, paths, n);
      if (p) theirs.push(p);
      console.error(
        `round ${r + 1}: ours feat ${mine[r]!.feat_s.toFixed(3)} s, full ${mine[r]!.full_s.toFixed(3)} s, ` +
          `load ${mine[r]!.load_s.toFixed(3)} s` +
          (p ? ` | h5py feat ${p.feat_s.toFixed(3)} s, full ${p.full_s.toFixed(3)} s` : ""),
      );
    }
    feat.close();
    reader.close();
    const best = <T>(xs: T[], k: keyof T) => Math.min(...xs.map((x) => x[k] as number));
    const agree = theirs.length === 0 ||
      (Math.abs(theirs[0]!.feat_sum - mine[0]!.feat_sum) < 1e-6 * Math.abs(mine[0]!.feat_sum) &&
        Math.abs(theirs[0]!.full_sum - mine[0]!.full_sum) < 1e-6 * Math.abs(mine[0]!.full_sum));
    if (!agree) throw new Error(`h5py and our reader disagree: ${JSON.stringify([theirs[0], mine[0]])}`);
    const ips = (s: number) => Number((n / s).toFixed(1));
    const ourFeat = ips(best(mine, "feat_s")), ourFull = ips(best(mine, "full_s"));
    const pyFeat = theirs.length ? ips(best(theirs, "feat_s")) : null;
    const pyFull = theirs.length ? ips(best(theirs, "full_s")) : null;
    const featMB = (R * F * 2) / 1e6;
    console.error(
      `\n${n} images, ${mb.toFixed(0)} MB on disk, best of ${rounds}:\n` +
        `  float16 features  ours ${ourFeat} images/s (${(ourFeat * featMB).toFixed(0)} MB/s)` +
        (pyFeat ? ` | h5py ${pyFeat} images/s | ratio ${(ourFeat / pyFeat).toFixed(2)}` : "") + "\n" +
        `  feats+cls+bbox    ours ${ourFull} images/s` +
        (pyFull ? ` | h5py ${pyFull} images/s | ratio ${(ourFull / pyFull).toFixed(2)}` : "") + "\n" +
        `  model inputs      ours ${ips(best(mine, "load_s"))} images/s (float32 features + 1607-d vectors)`,
    );
    await reportFigures(import.meta.url, {
      images: n,
      rounds,
      disk_mb: Number(mb.toFixed(1)),
      write_s: Number(writeS.toFixed(2)),
      ours_f16_feat_images_per_s: ourFeat,
      h5py_f16_feat_images_per_s: pyFeat,
      ratio_f16_feat: pyFeat ? Number((ourFeat / pyFeat).toFixed(3)) : null,
      ours_full_images_per_s: ourFull,
      h5py_full_images_per_s: pyFull,
      ratio_full: pyFull ? Number((ourFull / pyFull).toFixed(3)) : null,
      ours_model_inputs_images_per_s: ips(best(mine, "load_s")),
    }, values.record && pyFeat !== null); // a record compares with h5py; without it nothing is recorded
    if (values.record && pyFeat === null) console.error("not recorded: h5py did not run (no anchor)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  await main(startCommand(CMD));
} else {
  // deno bench: a small version (20 images)
  const dir = await Deno.makeTempDir({ prefix: "features_bench" });
  const ids = await makeData(dir, 20);
  const reader = RegionReader.open({ dataset: "cc", imageRoot: dir });
  const feat = await H5File.open(
    `${dir}/feat_cls_1000_float16/cc_detection_vg_100dets_gvd_checkpoint_trainval_feat000.h5`,
  );
  let i = 0;
  Deno.bench("read one float16 [100, 2048] feature dataset", () => {
    feat.read(ids[i++ % ids.length]!);
  });
  Deno.bench("one image's model inputs (float32 features + 1607-d region vectors)", async () => {
    await reader.load(ids[i++ % ids.length]!);
  });
  globalThis.addEventListener("unload", () => {
    feat.close();
    reader.close();
    Deno.removeSync(dir, { recursive: true });
  });
}
