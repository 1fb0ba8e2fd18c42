;; One AdamW update of one parameter tensor, with 128-bit SIMD. Compiled by scripts/build-wasm.ts
;; into adamw_wasm.ts; it runs on the tfjs wasm backend's own memory, by byte offset.
;;
;; For each element, in float32 and in the composite formulation's order (c1 = 1 - beta1 and
;; c2 = 1 - beta2 come rounded from float64, as the composite's scalars do):
;;   g' = g * scale
;;   m' = beta1 * m + c1 * g'
;;   v' = beta2 * v + c2 * g'^2
;;   x' = x - lr * ((m' / bc1) / (sqrt(v' / bc2) + eps) + wd * x)
(module
  (import "env" "memory" (memory 0))

  (func (export "update")
    (param $x i32) (param $g i32) (param $m i32) (param $v i32)
    (param $xo i32) (param $mo i32) (param $vo i32) (param $n i32)
    (param $lr f32) (param $b1 f32) (param $b2 f32) (param $bc1 f32) (param $bc2 f32)
    (param $eps f32) (param $wd f32) (param $scale f32) (param $c1 f32) (param $c2 f32)
    (local $at i32) (local $vecEnd i32) (local $end i32)
    (local $gv v128) (local $mv v128) (local $vv v128) (local $xv v128)
    (local $gs f32) (local $ms f32) (local $vs f32) (local $xs f32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    ;; whole vectors of four
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (local.set $gv
          (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $at))) (f32x4.splat (local.get $scale))))
        (local.set $mv
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $at))) (f32x4.splat (local.get $b1)))
            (f32x4.mul (local.get $gv) (f32x4.splat (local.get $c1)))))
        (local.set $vv
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $at))) (f32x4.splat (local.get $b2)))
            (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (f32x4.splat (local.get $c2)))))
        (v128.store (i32.add (local.get $mo) (local.get $at)) (local.get $mv))
        (v128.store (i32.add (local.get $vo) (local.get $at)) (local.get $vv))
        (local.set $xv (v128.load (i32.add (local.get $x) (local.get $at))))
        (v128.store (i32.add (local.get $xo) (local.get $at))
          (f32x4.sub (local.get $xv)
            (f32x4.mul (f32x4.splat (local.get $lr))
              (f32x4.add
                (f32x4.div
                  (f32x4.div (local.get $mv) (f32x4.splat (local.get $bc1)))
                  (f32x4.add
                    (f32x4.sqrt (f32x4.div (local.get $vv) (f32x4.splat (local.get $bc2))))
                    (f32x4.splat (local.get $eps))))
                (f32x4.mul (local.get $xv) (f32x4.splat (local.get $wd)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vec)))
    ;; the last n mod 4 elements, the same arithmetic on scalars
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gs (f32.mul (f32.load (i32.add (local.get $g) (local.get $at))) (local.get $scale)))
        (local.set $ms
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $at))) (local.get $b1))
            (f32.mul (local.get $gs) (local.get $c1))))
        (local.set $vs
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $at))) (local.get $b2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $c2))))
        (f32.store (i32.add (local.get $mo) (local.get $at)) (local.get $ms))
        (f32.store (i32.add (local.get $vo) (local.get $at)) (local.get $vs))
        (local.set $xs (f32.load (i32.add (local.get $x) (local.get $at))))
        (f32.store (i32.add (local.get $xo) (local.get $at))
          (f32.sub (local.get $xs)
            (f32.mul (local.get $lr)
              (f32.add
                (f32.div
                  (f32.div (local.get $ms) (local.get $bc1))
                  (f32.add
                    (f32.sqrt (f32.div (local.get $vs) (local.get $bc2)))
                    (local.get $eps)))
                (f32.mul (local.get $xs) (local.get $wd))))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail)))))
