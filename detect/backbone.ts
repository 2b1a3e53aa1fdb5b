/**
 * The body and the feature pyramid (Detectron's `modeling/ResNet.py` and `FPN.py`):
 *
 * - stem: conv1 7×7/2 → affine (frozen BN) → ReLU → max pool 3×3/2 (pad 1);
 * - res2..res5: bottleneck blocks (`bottleneck_transformation`): 1×1 → affine → ReLU → 3×3 grouped
 *   (`NUM_GROUPS`; the block's stride here unless `STRIDE_1X1`) → affine → ReLU → 1×1 → affine, plus the
 *   shortcut (1×1 + affine where the channel count changes, else identity), then ReLU; the first block of
 *   res3..res5 has stride 2;
 * - FPN: `fpn_inner_res5` (1×1) on res5, then for res4..res2 a lateral 1×1 plus the nearest-2× upsampled
 *   level above; a 3×3 output convolution on every level (P2..P5), and P6 = P5 subsampled by 2 (max pool
 *   1×1/2).
 *
 * Every affine (`_bn_s`, `_bn_b`) is folded into the convolution before it (weights scaled per output
 * channel, the shift as its bias): the same function, one pass less over the largest maps.
 *
 * @module
 */
import type { DetectorConfig } from "./config.ts";
import type { ConvParams, MapOps } from "./ops.ts";
import { type DetectorWeights, stageDims, stageOutputName } from "./weights.ts";

function blob(w: DetectorWeights, name: string): Float32Array {
  const b = w.get(name);
  if (!b) throw new TypeError(`Cannot build the detector: blob "${name}" is missing`);
  return b;
}

/** A convolution with the affine `bn` (if named) folded in. */
export function foldedConv(
  w: DetectorWeights,
  name: string,
  opts: {
    cout: number;
    k: number;
    stride?: number;
    pad?: number;
    groups?: number;
    relu?: boolean;
    bn?: string;
  },
): ConvParams {
  const weight = blob(w, `${name}_w`).slice();
  let bias: Float32Array | undefined;
  if (opts.bn) {
    const s = blob(w, `${opts.bn}_s`), b = blob(w, `${opts.bn}_b`);
    const per = weight.length / opts.cout;
    for (let c = 0; c < opts.cout; c++) {
      for (let i = c * per; i < (c + 1) * per; i++) weight[i] = weight[i]! * s[c]!;
    }
    bias = b.slice();
  } else if (w.has(`${name}_b`)) {
    bias = blob(w, `${name}_b`);
  }
  return {
    weight,
    bias,
    cout: opts.cout,
    k: opts.k,
    stride: opts.stride ?? 1,
    pad: opts.pad ?? 0,
    groups: opts.groups ?? 1,
    relu: opts.relu,
  };
}

interface Block {
  a: ConvParams;
  b: ConvParams;
  c: ConvParams;
  shortcut?: ConvParams;
}

/** The body's outputs res2..res5 and the pyramid P2..P6 (index = level), maps of type `M`. */
export interface Pyramid<M> {
  body: Record<2 | 3 | 4 | 5, M>;
  levels: Record<number, M>;
}

/** ResNeXt body + FPN of a config, weights folded once. */
export class Backbone {
  readonly #stem: ConvParams;
  readonly #stages: Block[][] = [];
  readonly #inner: ConvParams[] = [];
  readonly #output: ConvParams[] = [];

  constructor(readonly cfg: DetectorConfig, w: DetectorWeights) {
    const R = cfg.RESNETS, G = R.NUM_GROUPS, D = cfg.FPN.DIM;
    this.#stem = foldedConv(w, "conv1", {
      cout: R.STEM_OUT_DIM,
      k: 7,
      stride: 2,
      pad: 3,
      relu: true,
      bn: "res_conv1_bn",
    });
    stageDims(cfg).forEach(({ dimIn, inner, out }, si) => {
      const blocks: Block[] = [];
      for (let i = 0; i < R.BLOCK_COUNTS[si]!; i++) {
        const p = `res${si + 2}_${i}`, stride = si > 0 && i === 0 ? 2 : 1, cin = i === 0 ? dimIn : out;
        const [s1, s3] = R.STRIDE_1X1 ? [stride, 1] : [1, stride];
        blocks.push({
          a: foldedConv(w, `${p}_branch2a`, {
            cout: inner,
            k: 1,
            stride: s1,
            relu: true,
            bn: `${p}_branch2a_bn`,
          }),
          b: foldedConv(w, `${p}_branch2b`, {
            cout: inner,
            k: 3,
            stride: s3,
            pad: 1,
            groups: G,
            relu: true,
            bn: `${p}_branch2b_bn`,
          }),
          c: foldedConv(w, `${p}_branch2c`, { cout: out, k: 1, bn: `${p}_branch2c_bn` }),
          shortcut: cin !== out
            ? foldedConv(w, `${p}_branch1`, { cout: out, k: 1, stride, bn: `${p}_branch1_bn` })
            : undefined,
        });
      }
      this.#stages.push(blocks);
    });
    for (let s = 2; s <= 5; s++) {
      const name = stageOutputName(cfg, s);
      this.#inner[s] = foldedConv(w, s === 5 ? `fpn_inner_${name}` : `fpn_inner_${name}_lateral`, {
        cout: D,
        k: 1,
      });
      this.#output[s] = foldedConv(w, `fpn_${name}`, { cout: D, k: 3, pad: 1 });
    }
  }

  /** data `[3, H, W]` (H, W multiples of the coarsest stride) → res2..res5 and P2..P6. */
  run<M>(ops: MapOps<M>, data: M): Pyramid<M> {
    // stem: [3, H, W] → [STEM, H/2, W/2] → pool → [STEM, H/4, W/4]
    const stem = ops.conv(data, this.#stem);
    let x = ops.maxPool(stem, 3, 2, 1);
    ops.free(stem);
    const body = {} as Record<2 | 3 | 4 | 5, M>;
    this.#stages.forEach((blocks, si) => {
      for (const [bi, blk] of blocks.entries()) {
        const a = ops.conv(x, blk.a), b = ops.conv(a, blk.b); // [inner, h, w]
        ops.free(a);
        const t = ops.conv(b, blk.c); // [out, h, w]
        ops.free(b);
        if (blk.shortcut) {
          const s = ops.conv(x, blk.shortcut);
          ops.addRelu(t, s);
          ops.free(s);
        } else ops.addRelu(t, x);
        if (bi > 0 || si === 0) ops.free(x); // keep the previous stage's output (res2..res5 are returned)
        x = t;
      }
      body[(si + 2) as 2 | 3 | 4 | 5] = x;
    });
    // top-down: inner5 = 1x1(res5); inner_s = 1x1(res_s) + up2(inner_{s+1})
    const inner: M[] = [];
    inner[5] = ops.conv(body[5], this.#inner[5]!);
    for (let s = 4; s >= 2; s--) {
      inner[s] = ops.conv(body[s as 2 | 3 | 4], this.#inner[s]!);
      ops.upsampleAdd(inner[s]!, inner[s + 1]!);
    }
    const levels: Record<number, M> = {};
    for (let s = 2; s <= 5; s++) levels[s] = ops.conv(inner[s]!, this.#output[s]!);
    for (let s = 2; s <= 5; s++) ops.free(inner[s]!);
    levels[6] = ops.maxPool(levels[5]!, 1, 2, 0);
    return { body, levels };
  }
}
