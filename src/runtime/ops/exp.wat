;; A fragment, not a module: scripts/build-wasm.ts pastes it where a module says
;; ";; include: exp.wat". SIMD e^x for the kernels that need it.

  ;; e^x for x <= 0 (Cephes expf: 2^n times a degree-6 polynomial on |r| <= ln2/2, relative error
  ;; about 1e-7); exactly 0 below -87, which includes the -inf of masked keys.
  (func $exp (param $x v128) (result v128)
    (local $xc v128) (local $t v128) (local $n v128) (local $r v128) (local $p v128)
    (local.set $xc (f32x4.pmax (local.get $x) (f32x4.splat (f32.const -87))))
    ;; n = round-to-even(xc·log2 e) by adding and taking away 1.5·2^23; the sum's low mantissa
    ;; bits then hold n + 2^22, which the exponent shift below discards with the high ones.
    (local.set $t
      (f32x4.add (f32x4.mul (local.get $xc) (f32x4.splat (f32.const 1.44269504088896341)))
        (f32x4.splat (f32.const 12582912))))
    (local.set $n (f32x4.sub (local.get $t) (f32x4.splat (f32.const 12582912))))
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $xc) (f32x4.mul (local.get $n) (f32x4.splat (f32.const 0.693359375))))
        (f32x4.mul (local.get $n) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $p (f32x4.splat (f32.const 1.9875691500e-4)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (f32x4.splat (f32.const 5.0000001201e-1))))
    (local.set $p
      (f32x4.add
        (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $r)) (local.get $r)) (local.get $r))
        (f32x4.splat (f32.const 1))))
    (v128.andnot
      (f32x4.mul (local.get $p)
        (i32x4.shl (i32x4.add (local.get $t) (i32x4.splat (i32.const 127))) (i32.const 23)))
      (f32x4.lt (local.get $x) (f32x4.splat (f32.const -87)))))
