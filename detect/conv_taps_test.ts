import { assertClose, Rng } from "@vlp/testing";
import { createBackend } from "@vlp/model";
import { Scratch } from "./buffer_pool.ts";
import { convTaps } from "./conv_taps.ts";
import { conv2d, type ConvParams, type FeatureMap, Gemm, outSize } from "./ops.ts";

/** The plain twin: a direct convolution in float64 (any stride, padding, groups). */
function convDirect(x: FeatureMap, p: ConvParams): Float64Array {
  const ho = outSize(x.h, p.k, p.stride, p.pad), wo = outSize(x.w, p.k, p.stride, p.pad);
  const cg = x.c / p.groups, og = p.cout / p.groups, out = new Float64Array(p.cout * ho * wo);
  for (let o = 0; o < p.cout; o++) {
    const g = Math.floor(o / og);
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        let s = p.bias ? p.bias[o]! : 0;
        for (let ci = 0; ci < cg; ci++) {
          for (let ky = 0; ky < p.k; ky++) {
            const iy = oy * p.stride - p.pad + ky;
            if (iy < 0 || iy >= x.h) continue;
            for (let kx = 0; kx < p.k; kx++) {
              const ix = ox * p.stride - p.pad + kx;
              if (ix < 0 || ix >= x.w) continue;
              s += p.weight[((o * cg + ci) * p.k + ky) * p.k + kx]! *
                x.data[((g * cg + ci) * x.h + iy) * x.w + ix]!;
            }
          }
        }
        out[(o * ho + oy) * wo + ox] = p.relu ? Math.max(0, s) : s;
      }
    }
  }
  return out;
}

function randomCase(
  rng: Rng,
  c: number,
  h: number,
  w: number,
  cout: number,
  k: number,
  pad: number,
  groups: number,
) {
  const x: FeatureMap = { c, h, w, data: Float32Array.from({ length: c * h * w }, () => rng.normal()) };
  const p: ConvParams = {
    weight: Float32Array.from({ length: cout * (c / groups) * k * k }, () => rng.normal()),
    bias: Float32Array.from({ length: cout }, () => rng.normal()),
    cout,
    k,
    stride: 1,
    pad,
    groups,
    relu: rng.uniform(0, 1) < 0.5,
  };
  return { x, p };
}

for (const backend of ["reference", "blas"] as const) {
  Deno.test(`convTaps (${backend}) matches the direct convolution and conv2d (groups, padding, bands)`, () => {
    const gemm = new Gemm(createBackend(backend)), rng = new Rng(5), scratch = new Scratch();
    // [c, h, w, cout, k, pad, groups, band limit]
    const cases: [number, number, number, number, number, number, number, number][] = [
      [8, 9, 11, 8, 3, 1, 4, 1 << 22], // ResNeXt's grouped 3x3
      [6, 7, 5, 4, 3, 1, 1, 1 << 22], // dense 3x3 (FPN, RPN)
      [8, 13, 10, 8, 3, 1, 2, 40], // several bands of rows, one row in the last
      [4, 6, 9, 6, 3, 0, 2, 1 << 22], // no padding
      [3, 8, 8, 5, 5, 2, 1, 64], // 5x5 in bands
      [4, 1, 1, 4, 3, 1, 4, 1 << 22], // 1x1 map
    ];
    for (const [c, h, w, cout, k, pad, groups, limit] of cases) {
      const { x, p } = randomCase(rng, c, h, w, cout, k, pad, groups);
      const ho = outSize(h, k, 1, pad), wo = outSize(w, k, 1, pad);
      const out = new Float32Array(cout * ho * wo).fill(NaN); // every element must be written
      convTaps(gemm, x, p, out, scratch, limit);
      const want = convDirect(x, p), name = `conv ${JSON.stringify([c, h, w, cout, k, pad, groups, limit])}`;
      assertClose(Float64Array.from(out), want, { atol: 1e-4, rtol: 1e-5, name });
      assertClose(Float64Array.from(out), Float64Array.from(conv2d(gemm, x, p).data), {
        atol: 1e-4,
        rtol: 1e-5,
        name: `${name} vs conv2d`,
      });
    }
  });
}
