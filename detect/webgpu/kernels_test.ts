/**
 * Every WGSL kernel of the detector against its plain TypeScript twin (`../ops.ts`, `../roi_align.ts`), on
 * seeded inputs of odd sizes: im2col, convolutions through it (grouped, strided, padded; bias + ReLU), the
 * 1×1 path, max pooling, upsample-add, add + ReLU, RoIAlign (boxes inside, across and outside the map; a
 * fixed and an adaptive sampling ratio).
 */
import { assertClose, Rng } from "@vlp/testing";
import { createBackend } from "@vlp/model";
import { type ConvParams, CpuMapOps, type FeatureMap, Gemm, im2col, outSize } from "../ops.ts";
import { GpuMapOps } from "./ops.ts";
import { gpuTestOptions, testGpu } from "./test_utils.ts";

const gpu = testGpu();
const cpu = new CpuMapOps(new Gemm(createBackend("reference")));
const dev = gpu ? new GpuMapOps(gpu) : null!;
const rng = new Rng(11);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
const fmap = (c: number, h: number, w: number): FeatureMap => ({ c, h, w, data: rand(c * h * w) });
const test = (name: string, fn: () => Promise<void>) => Deno.test({ name, fn, ...gpuTestOptions() });
const close = (a: ArrayLike<number>, e: ArrayLike<number>, name: string) =>
  assertClose(Float64Array.from(a), Float64Array.from(e), { atol: 1e-5, rtol: 1e-4, name });

test("webgpu kernel im2col = its twin (a band of rows, stride 2, pad 1, 3x3)", async () => {
  const x = fmap(5, 9, 11), k = 3, stride = 2, pad = 1, wo = outSize(11, k, stride, pad), y0 = 1, y1 = 4;
  const n = 5 * k * k * (y1 - y0) * wo, col = new Float32Array(n);
  im2col(x, 0, 5, k, stride, pad, wo, y0, y1, col);
  const t = gpu!.alloc([n]);
  dev.im2col(dev.upload(x), k, stride, pad, wo, y0, y1, t);
  close(await gpu!.read(t), col, "col");
});

for (
  const [label, p, [c, h, w]] of [
    ["3x3/2 grouped, bias, ReLU", { k: 3, stride: 2, pad: 1, groups: 3, cout: 6, relu: true, bias: true }, [
      6,
      9,
      11,
    ]],
    ["7x7/2 stem", { k: 7, stride: 2, pad: 3, groups: 1, cout: 4, relu: true, bias: true }, [3, 13, 10]],
    ["1x1 lateral, bias", { k: 1, stride: 1, pad: 0, groups: 1, cout: 5, relu: false, bias: true }, [
      7,
      5,
      9,
    ]],
    ["1x1/2 shortcut, no bias", { k: 1, stride: 2, pad: 0, groups: 1, cout: 5, relu: false, bias: false }, [
      3,
      7,
      9,
    ]],
  ] as const
) {
  test(`webgpu conv (im2col + GEMM + bias_act) = its twin: ${label}`, async () => {
    const x = fmap(c, h, w);
    const cp: ConvParams = {
      weight: rand(p.cout * (c / p.groups) * p.k * p.k, 0.3),
      bias: p.bias ? rand(p.cout) : undefined,
      cout: p.cout,
      k: p.k,
      stride: p.stride,
      pad: p.pad,
      groups: p.groups,
      relu: p.relu,
    };
    close((await dev.read(dev.conv(dev.upload(x), cp))).data, cpu.conv(x, cp).data, "conv");
  });
}

test("webgpu kernel max_pool = its twin (3x3/2 pad 1; 1x1/2)", async () => {
  const x = fmap(3, 9, 12);
  for (const [k, s, p] of [[3, 2, 1], [1, 2, 0]]) {
    close(
      (await dev.read(dev.maxPool(dev.upload(x), k!, s!, p!))).data,
      cpu.maxPool(x, k!, s!, p!).data,
      "pool",
    );
  }
});

test("webgpu kernels upsample_add and add_relu = their twins (odd sizes)", async () => {
  const lat = fmap(4, 7, 9), top = fmap(4, 4, 5);
  const g = dev.upload(lat);
  dev.upsampleAdd(g, dev.upload(top));
  const want = { ...lat, data: lat.data.slice() };
  cpu.upsampleAdd(want, top);
  close((await dev.read(g)).data, want.data, "upsample_add");
  const a = fmap(2, 5, 7), b = fmap(2, 5, 7), ga = dev.upload(a);
  dev.addRelu(ga, dev.upload(b));
  close((await dev.read(ga)).data, cpu.addRelu({ ...a, data: a.data.slice() }, b).data, "add_relu");
});

test("webgpu kernel roi_align = its twin (two levels, boxes inside, across and outside; ratio 2 and 0)", async () => {
  const levels = { 2: fmap(3, 11, 13), 3: fmap(3, 6, 7) };
  const rois = Float64Array.from([
    3,
    4,
    30,
    25, // inside level 2
    -10,
    -5,
    8,
    6, // across the top-left corner
    40,
    30,
    80,
    70, // partly outside
    5.5,
    6.25,
    6,
    6.5, // smaller than a pixel
    10,
    2,
    50,
    40, // level 3
    100,
    100,
    130,
    120, // outside entirely
  ]);
  const lv = Int32Array.from([2, 2, 2, 2, 3, 3]);
  const g = { 2: dev.upload(levels[2]), 3: dev.upload(levels[3]) };
  for (const ratio of [2, 0]) {
    close(
      await dev.roiAlign(g, rois, lv, 3, ratio),
      await cpu.roiAlign(levels, rois, lv, 3, ratio),
      `ratio ${ratio}`,
    );
  }
});
