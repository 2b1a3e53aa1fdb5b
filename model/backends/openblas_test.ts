import assert from "node:assert/strict";
import { openBlasCoreName, preferredCoreType } from "./openblas.ts";
import { blasRequired } from "./create.ts";

const AVX512 = "avx512f avx512dq avx512cd avx512bw avx512vl";
const cpu = (vendor: string, flags: string) =>
  `processor\t: 0\nvendor_id\t: ${vendor}\ncpu family\t: 26\nflags\t\t: fpu sse2 avx2 fma ${flags}\n\nprocessor\t: 1\n`;

Deno.test("preferredCoreType: SkylakeX kernels for an AMD CPU with AVX-512, else OpenBLAS's own choice", () => {
  assert.equal(preferredCoreType(cpu("AuthenticAMD", AVX512)), "SKYLAKEX");
  assert.equal(preferredCoreType(cpu("AuthenticAMD", "avx512f avx512dq avx512cd avx512bw")), null); // no VL
  assert.equal(preferredCoreType(cpu("AuthenticAMD", "")), null); // Zen 3 and older: AVX2 only
  assert.equal(preferredCoreType(cpu("GenuineIntel", AVX512)), null); // OpenBLAS knows Intel's AVX-512 models
  assert.equal(preferredCoreType(""), null);
});

Deno.test("openBlasCoreName: the loaded library names its kernels; AVX-512 ones where asked for", () => {
  const name = openBlasCoreName();
  if (name === null) {
    assert.ok(!blasRequired(), "VLP_REQUIRE_BLAS=1 but OpenBLAS could not be loaded");
    return;
  }
  assert.match(name, /^\w+$/);
  const want = Deno.env.get("OPENBLAS_CORETYPE");
  if (want === "SKYLAKEX") assert.equal(name, "SkylakeX");
});
