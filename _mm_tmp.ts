import { WebGpuBackend } from "@vlp/model";
const be = await WebGpuBackend.create();
for (const [m, n, k, tb] of [[25, 28996, 32, true], [50, 96, 32, true], [2, 122, 8, true], [25, 28996, 32, false]] as const) {
  const a = be.alloc([m * k]), b = be.alloc([n * k]), c = be.alloc([m * n]);
  be.write(a, new Float32Array(m * k).fill(0.5)); be.write(b, new Float32Array(n * k).fill(0.25));
  await be.sync();
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    be.matmul({ a, b, c, m, n, k, transB: tb });
    await be.sync();
    const s = (performance.now() - t0) / 1000;
    console.log(m, n, k, tb, (s*1000).toFixed(1), "ms", (2 * m * n * k / s / 1e9).toFixed(2), "GFLOP/s");
  }
}
const x = be.alloc([25*28996]); 
for (let r = 0; r < 3; r++) { const t0 = performance.now(); await be.read(x); console.log("read 2.9MB", (performance.now()-t0).toFixed(1)); }
for (let r = 0; r < 3; r++) { const t0 = performance.now(); await be.sync(); console.log("empty sync", (performance.now()-t0).toFixed(1)); }
