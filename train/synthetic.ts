/**
 * Synthetic region features in VLP's on-disk layouts (through `@vlp/features`' writers), for tests,
 * benchmarks and demos: per image random appearance features (float16 or float32), class probabilities
 * that sum to 1, and plausible boxes `x1, y1, x2, y2, class, confidence`.
 *
 * @example Usage
 * ```ts ignore
 * await writeSyntheticRegions(["COCO_val2014_000000391895"], { dataset: "coco", imageRoot: dir });
 * ```
 *
 * @module
 */
import {
  type ImageRegions,
  type RegionDims,
  VLP_DIMS,
  writeRegionFiles,
  type WriteRegionOptions,
} from "@vlp/features";
import { Rng } from "@vlp/model";

/** Options of {@linkcode writeSyntheticRegions}. */
export interface SyntheticRegionOptions extends WriteRegionOptions {
  /** sizes (default VLP's: 100 regions, 2048 features, 1601 classes) */
  dims?: RegionDims;
  /** storage type of features and class probabilities (default float32) */
  dtype?: "float16" | "float32";
  seed?: number;
}

/** The region arrays of one synthetic image. */
export function syntheticRegions(rng: Rng, dims: RegionDims, dtype: "float16" | "float32"): ImageRegions {
  const { R, F, K } = dims;
  const feats = new Float32Array(R * F);
  for (let i = 0; i < feats.length; i++) feats[i] = Math.max(0, rng.normal()); // fc6 outputs are ReLU'd
  const cls = new Float32Array(R * K);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += cls[r * K + k] = rng.float() ** 4;
    for (let k = 0; k < K; k++) cls[r * K + k] /= s;
  }
  const bbox = new Float32Array(R * 6);
  for (let r = 0; r < R; r++) {
    const x1 = rng.uniform(0, 500), y1 = rng.uniform(0, 400);
    bbox.set(
      [x1, y1, x1 + rng.uniform(10, 140), y1 + rng.uniform(10, 100), rng.int(K), rng.uniform(0.2, 1)],
      r * 6,
    );
  }
  const stored = (a: Float32Array, shape: number[]) =>
    dtype === "float16"
      ? { dtype: "float16" as const, shape, data: Float16Array.from(a) }
      : { dtype: "float32" as const, shape, data: a };
  return {
    feats: stored(feats, [R, F]),
    cls: stored(cls, [R, K]),
    bbox: { dtype: "float32", shape: [R, 6], data: bbox },
  };
}

/** Write synthetic region files for the given image ids (see the module doc). */
export async function writeSyntheticRegions(
  imageIds: readonly string[],
  opts: SyntheticRegionOptions,
): Promise<void> {
  const rng = new Rng(opts.seed ?? 1), dims = opts.dims ?? VLP_DIMS, dtype = opts.dtype ?? "float32";
  const images = new Map<string, ImageRegions>();
  for (const id of imageIds) images.set(id, syntheticRegions(rng, dims, dtype));
  await writeRegionFiles(images, opts);
}
