/**
 * WebAssembly SIMD (f32x4) versions of the element-wise hot spots of the float32 CPU path: GELU (with its
 * derivative), the attention softmax with an additive mask, and dropout with the counter-based hash. Their
 * plain TypeScript twins are in `../kernels/` (activations.ts, softmax.ts, dropout.ts); `simd_test.ts`
 * compares the two. The binary is generated from this text by `tools/build_simd_kernels.ts` into
 * `simd_kernels.wasm.ts` (a test checks that the two agree), so nothing is compiled at run time.
 *
 * Memory: one imported memory; every pointer is a byte address, every count an element count. GELU and
 * dropout process whole vectors (the caller pads its buffers to a multiple of 4 elements); softmax rows have
 * a scalar tail (the same arithmetic on one lane) after the vectors.
 *
 * Arithmetic (float32, relative error ~1e-7, the float32 rounding level):
 * - exp(x): x clamped to [−87.3, 88.7], n = nearest(x·log₂e), r = x − n·ln2 (two-step), e^r by its degree-7
 *   Taylor polynomial, scaled by 2ⁿ through the exponent bits; 0 below −87.3.
 * - GELU: y = x·Φ(x), Φ from A&S 7.1.26 as erfc(|x|/√2) = poly(t)·e^(−x²/2), t = 1/(1 + 0.3275911·|x|/√2);
 *   derivative g = Φ(x) + x·e^(−x²/2)/√(2π).
 * - softmax: per row max, exp(x + mask − max), sum, scale by 1/sum.
 * - dropout: h = mix32((i·0x9e3779b9 + seed) mod 2³²) with i the global element index; keep iff h ≥ threshold
 *   (unsigned); kept elements scaled by 1/(1 − p).
 *
 * @module
 */

/** WAT source of the kernels (compiled by tools/build_simd_kernels.ts). */
export const SIMD_KERNELS_WAT = `
(module
  (import "env" "mem" (memory 1))

  ;; ---- exp on 4 lanes ------------------------------------------------------------------------------------
  (func $exp4 (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $p v128) (local $under v128)
    (local.set $under (f32x4.lt (local.get $x) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3)))
    (local.set $x (f32x4.max (f32x4.min (local.get $x) (v128.const f32x4 88.7 88.7 88.7 88.7))
                             (v128.const f32x4 -87.3 -87.3 -87.3 -87.3)))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) (v128.const f32x4 1.4426950409 1.4426950409 1.4426950409 1.4426950409))))
    ;; r = x - n*ln2, ln2 split in a part exact in float32 and the rest
    (local.set $r (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $p (f32x4.add (v128.const f32x4 1.3888889e-3 1.3888889e-3 1.3888889e-3 1.3888889e-3)
                             (f32x4.mul (local.get $r) (v128.const f32x4 1.9841270e-4 1.9841270e-4 1.9841270e-4 1.9841270e-4))))
    (local.set $p (f32x4.add (v128.const f32x4 8.3333333e-3 8.3333333e-3 8.3333333e-3 8.3333333e-3) (f32x4.mul (local.get $r) (local.get $p))))
    (local.set $p (f32x4.add (v128.const f32x4 4.1666667e-2 4.1666667e-2 4.1666667e-2 4.1666667e-2) (f32x4.mul (local.get $r) (local.get $p))))
    (local.set $p (f32x4.add (v128.const f32x4 0.16666667 0.16666667 0.16666667 0.16666667) (f32x4.mul (local.get $r) (local.get $p))))
    (local.set $p (f32x4.add (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.mul (local.get $r) (local.get $p))))
    (local.set $p (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $r) (local.get $p))))
    (local.set $p (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $r) (local.get $p))))
    ;; p*2^n (n in [-126, 128]: exponent bits n + 127, the n = 128 end handled by splitting the scale)
    (local.set $p (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (f32x4.mul (local.get $n) (v128.const f32x4 0.5 0.5 0.5 0.5)))
                            (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (local.set $p (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (i32x4.sub (i32x4.trunc_sat_f32x4_s (local.get $n))
                                       (i32x4.trunc_sat_f32x4_s (f32x4.mul (local.get $n) (v128.const f32x4 0.5 0.5 0.5 0.5))))
                            (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    (v128.andnot (local.get $p) (local.get $under)))

  ;; ---- GELU on 4 lanes: y, and the derivative g when $wantGrad -------------------------------------------
  (func $gelu4 (param $v v128) (param $g i32) (param $at i32) (result v128)
    (local $a v128) (local $t v128) (local $q v128) (local $e v128) (local $cdf v128)
    (local.set $a (f32x4.mul (f32x4.abs (local.get $v)) (v128.const f32x4 0.70710678 0.70710678 0.70710678 0.70710678)))
    (local.set $t (f32x4.div (v128.const f32x4 1 1 1 1)
      (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $a) (v128.const f32x4 0.3275911 0.3275911 0.3275911 0.3275911)))))
    (local.set $q (f32x4.add (v128.const f32x4 -1.453152027 -1.453152027 -1.453152027 -1.453152027)
                             (f32x4.mul (local.get $t) (v128.const f32x4 1.061405429 1.061405429 1.061405429 1.061405429))))
    (local.set $q (f32x4.add (v128.const f32x4 1.421413741 1.421413741 1.421413741 1.421413741) (f32x4.mul (local.get $t) (local.get $q))))
    (local.set $q (f32x4.add (v128.const f32x4 -0.284496736 -0.284496736 -0.284496736 -0.284496736) (f32x4.mul (local.get $t) (local.get $q))))
    (local.set $q (f32x4.add (v128.const f32x4 0.254829592 0.254829592 0.254829592 0.254829592) (f32x4.mul (local.get $t) (local.get $q))))
    (local.set $e (call $exp4 (f32x4.neg (f32x4.mul (local.get $a) (local.get $a)))))
    ;; q/2 = erfc(|v|/sqrt2)/2; Phi = v < 0 ? q/2 : 1 - q/2
    (local.set $q (f32x4.mul (f32x4.mul (f32x4.mul (local.get $t) (local.get $q)) (local.get $e)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $cdf (v128.bitselect (local.get $q) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $q))
                                    (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))
    (if (local.get $g)
      (then (v128.store (i32.add (local.get $g) (local.get $at))
        (f32x4.add (local.get $cdf) (f32x4.mul (local.get $v)
          (f32x4.mul (local.get $e) (v128.const f32x4 0.39894228 0.39894228 0.39894228 0.39894228)))))))
    (f32x4.mul (local.get $v) (local.get $cdf)))

  ;; y[i] = gelu(x[i]) and, when g != 0, g[i] = gelu'(x[i]), for i < n rounded up to a multiple of 4 (the
  ;; caller pads its buffers)
  (func (export "gelu") (param $x i32) (param $y i32) (param $g i32) (param $n i32)
    (local $at i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
      (v128.store (i32.add (local.get $y) (local.get $at))
        (call $gelu4 (v128.load (i32.add (local.get $x) (local.get $at))) (local.get $g) (local.get $at)))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $l))))

  ;; ---- softmax rows: p = softmax(x + mask) ----------------------------------------------------------------
  ;; rows of width lk; global row r = row0 + k uses mask row floor(r/(heads*lq))*lq + r mod lq
  (func (export "softmax") (param $x i32) (param $mask i32) (param $p i32) (param $rows i32) (param $lk i32)
                           (param $lq i32) (param $heads i32) (param $row0 i32)
    (local $k i32) (local $r i32) (local $xo i32) (local $mo i32) (local $j i32) (local $m v128) (local $s v128)
    (local $e v128) (local $max f32) (local $sum f32) (local $v f32) (local $inv v128)
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_u (local.get $k) (local.get $rows)))
      (local.set $r (i32.add (local.get $row0) (local.get $k)))
      (local.set $xo (i32.shl (i32.mul (local.get $k) (local.get $lk)) (i32.const 2)))
      (local.set $mo (i32.shl (i32.mul (i32.add (i32.mul (i32.div_u (local.get $r) (i32.mul (local.get $heads) (local.get $lq))) (local.get $lq))
                                                (i32.rem_u (local.get $r) (local.get $lq))) (local.get $lk)) (i32.const 2)))
      ;; max
      (local.set $m (v128.const f32x4 -inf -inf -inf -inf))
      (local.set $j (i32.const 0))
      (block $d1 (loop $l1
        (br_if $d1 (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $lk)))
        (local.set $m (f32x4.max (local.get $m)
          (f32x4.add (v128.load (i32.add (local.get $x) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2)))))
                     (v128.load (i32.add (local.get $mask) (i32.add (local.get $mo) (i32.shl (local.get $j) (i32.const 2))))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $l1)))
      (local.set $max (f32.max (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
                               (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
      (block $d1t (loop $l1t
        (br_if $d1t (i32.ge_u (local.get $j) (local.get $lk)))
        (local.set $max (f32.max (local.get $max)
          (f32.add (f32.load (i32.add (local.get $x) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2)))))
                   (f32.load (i32.add (local.get $mask) (i32.add (local.get $mo) (i32.shl (local.get $j) (i32.const 2))))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $l1t)))
      ;; exp and sum
      (local.set $m (f32x4.splat (local.get $max)))
      (local.set $s (v128.const f32x4 0 0 0 0))
      (local.set $j (i32.const 0))
      (block $d2 (loop $l2
        (br_if $d2 (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $lk)))
        (local.set $e (call $exp4 (f32x4.sub
          (f32x4.add (v128.load (i32.add (local.get $x) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2)))))
                     (v128.load (i32.add (local.get $mask) (i32.add (local.get $mo) (i32.shl (local.get $j) (i32.const 2))))))
          (local.get $m))))
        (v128.store (i32.add (local.get $p) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2)))) (local.get $e))
        (local.set $s (f32x4.add (local.get $s) (local.get $e)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $l2)))
      (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s)) (f32x4.extract_lane 1 (local.get $s)))
                               (f32.add (f32x4.extract_lane 2 (local.get $s)) (f32x4.extract_lane 3 (local.get $s)))))
      (block $d2t (loop $l2t
        (br_if $d2t (i32.ge_u (local.get $j) (local.get $lk)))
        (local.set $v (f32x4.extract_lane 0 (call $exp4 (f32x4.splat (f32.sub
          (f32.add (f32.load (i32.add (local.get $x) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2)))))
                   (f32.load (i32.add (local.get $mask) (i32.add (local.get $mo) (i32.shl (local.get $j) (i32.const 2))))))
          (local.get $max))))))
        (f32.store (i32.add (local.get $p) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2)))) (local.get $v))
        (local.set $sum (f32.add (local.get $sum) (local.get $v)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $l2t)))
      ;; scale
      (local.set $inv (f32x4.splat (f32.div (f32.const 1) (local.get $sum))))
      (local.set $j (i32.const 0))
      (block $d3 (loop $l3
        (br_if $d3 (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $lk)))
        (v128.store (i32.add (local.get $p) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2))))
          (f32x4.mul (local.get $inv) (v128.load (i32.add (local.get $p) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $l3)))
      (block $d3t (loop $l3t
        (br_if $d3t (i32.ge_u (local.get $j) (local.get $lk)))
        (f32.store (i32.add (local.get $p) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2))))
          (f32.mul (f32x4.extract_lane 0 (local.get $inv))
                   (f32.load (i32.add (local.get $p) (i32.add (local.get $xo) (i32.shl (local.get $j) (i32.const 2)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $l3t)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $rl))))

  ;; ---- dropout: y[i] = keep(i0 + i) ? x[i]*scale : 0 --------------------------------------------------------
  (func $hash4 (param $i v128) (param $seed v128) (result v128)
    (local $h v128)
    (local.set $h (i32x4.add (i32x4.mul (local.get $i) (v128.const i32x4 0x9e3779b9 0x9e3779b9 0x9e3779b9 0x9e3779b9)) (local.get $seed)))
    (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16)))
                             (v128.const i32x4 0x7feb352d 0x7feb352d 0x7feb352d 0x7feb352d)))
    (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15)))
                             (v128.const i32x4 0x846ca68b 0x846ca68b 0x846ca68b 0x846ca68b)))
    (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))))

  ;; n rounded up to a multiple of 4 (the caller pads its buffers)
  (func (export "dropout") (param $x i32) (param $y i32) (param $n i32) (param $i0 i32) (param $seed i32)
                           (param $thr i32) (param $scale f32)
    (local $at i32) (local $end i32) (local $idx v128) (local $vseed v128) (local $vthr v128) (local $vs v128)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vseed (i32x4.splat (local.get $seed)))
    (local.set $vthr (i32x4.splat (local.get $thr)))
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $idx (i32x4.add (i32x4.splat (local.get $i0)) (v128.const i32x4 0 1 2 3)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
      (v128.store (i32.add (local.get $y) (local.get $at))
        (v128.and (i32x4.ge_u (call $hash4 (local.get $idx) (local.get $vseed)) (local.get $vthr))
                  (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $at))) (local.get $vs))))
      (local.set $idx (i32x4.add (local.get $idx) (v128.const i32x4 4 4 4 4)))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $l))))
)
`;
