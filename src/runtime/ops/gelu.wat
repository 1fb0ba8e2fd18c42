;; GELU, tanh approximation, forward and backward, with 128-bit SIMD. Compiled by
;; scripts/build-wasm.ts into gelu_wasm.ts; it runs on the tfjs wasm backend's own memory.
;;
;; gelu(x) = x * s with s = sigmoid(2z), z = K (x + A x^3) (the same function as
;; x/2 (1 + tanh z)); d gelu / dx = s + x s (1 - s) 2K (1 + 3A x^2).
;; sigmoid(t) is 1 / (1 + e^-t) for t >= 0 and e^t / (1 + e^t) below, so e^x only ever sees
;; x <= 0 and never overflows.
(module
  (import "env" "memory" (memory 0))

  ;; include: exp.wat

  ;; sigmoid(2z) of four lanes of x
  (func $gate (param $x v128) (result v128)
    (local $t v128) (local $e v128) (local $inv v128)
    (local.set $t
      (f32x4.mul
        (f32x4.add (local.get $x)
          (f32x4.mul (f32x4.mul (f32x4.mul (local.get $x) (local.get $x)) (local.get $x))
            (f32x4.splat (f32.const 0.044715))))
        (f32x4.splat (f32.const 1.5957691216057308))))
    (local.set $e (call $exp (f32x4.neg (f32x4.abs (local.get $t)))))
    (local.set $inv (f32x4.div (f32x4.splat (f32.const 1)) (f32x4.add (f32x4.splat (f32.const 1)) (local.get $e))))
    (v128.bitselect
      (local.get $inv)
      (f32x4.mul (local.get $e) (local.get $inv))
      (f32x4.ge (local.get $t) (f32x4.splat (f32.const 0)))))

  (func $forward4 (param $x v128) (result v128)
    (f32x4.mul (local.get $x) (call $gate (local.get $x))))

  (func $backward4 (param $dy v128) (param $x v128) (result v128)
    (local $s v128)
    (local.set $s (call $gate (local.get $x)))
    (f32x4.mul (local.get $dy)
      (f32x4.add (local.get $s)
        (f32x4.mul
          (f32x4.mul (local.get $x) (f32x4.mul (local.get $s) (f32x4.sub (f32x4.splat (f32.const 1)) (local.get $s))))
          (f32x4.mul (f32x4.splat (f32.const 1.5957691216057308))
            (f32x4.add (f32x4.splat (f32.const 1))
              (f32x4.mul (f32x4.splat (f32.const 0.134145)) (f32x4.mul (local.get $x) (local.get $x)))))))))

  ;; y = gelu(x) for n floats; the last n mod 4 go through lane 0 one by one.
  (func (export "forward") (param $x i32) (param $y i32) (param $n i32)
    (local $at i32) (local $vecEnd i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $y) (local.get $at))
          (call $forward4 (v128.load (i32.add (local.get $x) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (f32.store (i32.add (local.get $y) (local.get $at))
          (f32x4.extract_lane 0
            (call $forward4 (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $at)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail))))

  ;; dx = dy * gelu'(x) for n floats.
  (func (export "backward") (param $dy i32) (param $x i32) (param $dx i32) (param $n i32)
    (local $at i32) (local $vecEnd i32) (local $end i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $dx) (local.get $at))
          (call $backward4
            (v128.load (i32.add (local.get $dy) (local.get $at)))
            (v128.load (i32.add (local.get $x) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vec)))
    (block $done
      (loop $tail
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (f32.store (i32.add (local.get $dx) (local.get $at))
          (f32x4.extract_lane 0
            (call $backward4
              (f32x4.splat (f32.load (i32.add (local.get $dy) (local.get $at))))
              (f32x4.splat (f32.load (i32.add (local.get $x) (local.get $at)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail)))))
