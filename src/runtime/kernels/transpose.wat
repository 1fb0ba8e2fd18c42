;; Batched 2-D transpose of 32-bit elements with 128-bit SIMD: out[b][c][r] = in[b][r][c].
;; Compiled by scripts/build-wasm.ts into transpose_wasm.ts; it runs on the tfjs wasm backend's
;; own memory. Matmul operands and weight gradients are transposed this way; a strided JS copy
;; moved a [1024, 384] matrix at ~2.5 GB/s.
;;
;; Each 4×4 block is read as four row vectors and written as four column vectors (two rounds
;; of lane shuffles).
(module
  (import "env" "memory" (memory 0))

  ;; The 4×4 block with top-left input byte address $in (row pitch $inPitch) into $out (row
  ;; pitch $outPitch), transposed.
  (func $block (param $in i32) (param $inPitch i32) (param $out i32) (param $outPitch i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $ab0 v128) (local $ab1 v128) (local $cd0 v128) (local $cd1 v128)
    (local.set $a (v128.load (local.get $in)))
    (local.set $b (v128.load (i32.add (local.get $in) (local.get $inPitch))))
    (local.set $c (v128.load (i32.add (local.get $in) (i32.shl (local.get $inPitch) (i32.const 1)))))
    (local.set $d (v128.load (i32.add (local.get $in) (i32.mul (local.get $inPitch) (i32.const 3)))))
    ;; ab0 = a0 b0 a1 b1, ab1 = a2 b2 a3 b3 (likewise cd)
    (local.set $ab0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b)))
    (local.set $ab1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b)))
    (local.set $cd0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c) (local.get $d)))
    (local.set $cd1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c) (local.get $d)))
    ;; column k = a_k b_k c_k d_k
    (v128.store (local.get $out)
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $ab0) (local.get $cd0)))
    (v128.store (i32.add (local.get $out) (local.get $outPitch))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $ab0) (local.get $cd0)))
    (v128.store (i32.add (local.get $out) (i32.shl (local.get $outPitch) (i32.const 1)))
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $ab1) (local.get $cd1)))
    (v128.store (i32.add (local.get $out) (i32.mul (local.get $outPitch) (i32.const 3)))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $ab1) (local.get $cd1))))

  ;; One matrix: rows [r0, r1) × cols [c0, c1) one element at a time (the edges).
  (func $scalar (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (param $r0 i32) (param $r1 i32) (param $c0 i32) (param $c1 i32)
    (local $r i32) (local $c i32)
    (local.set $r (local.get $r0))
    (block $rDone
      (loop $rLoop
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $r1)))
        (local.set $c (local.get $c0))
        (block $cDone
          (loop $cLoop
            (br_if $cDone (i32.ge_u (local.get $c) (local.get $c1)))
            (i32.store
              (i32.add (local.get $dst)
                (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2)))
              (i32.load
                (i32.add (local.get $src)
                  (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2)))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cLoop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rLoop))))

  ;; Rows [r0, r1) (a multiple of 4 apart) × the first cols4 columns, in 4×4 blocks; $lines
  ;; blocks down at a time, so each output row gets $lines·16 contiguous bytes per pass.
  (func $blocks (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (param $r0 i32) (param $r1 i32) (param $cols4 i32) (param $lines i32)
    (local $inPitch i32) (local $outPitch i32) (local $r i32) (local $c i32) (local $k i32)
    (local.set $inPitch (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $outPitch (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $r (local.get $r0))
    (block $rDone
      (loop $rLoop
        (br_if $rDone (i32.ge_u (local.get $r) (local.get $r1)))
        (local.set $c (i32.const 0))
        (block $cDone
          (loop $cLoop
            (br_if $cDone (i32.ge_u (local.get $c) (local.get $cols4)))
            (local.set $k (i32.const 0))
            (block $kDone
              (loop $kLoop
                (br_if $kDone (i32.ge_u (local.get $k) (local.get $lines)))
                (call $block
                  (i32.add (local.get $src)
                    (i32.shl
                      (i32.add (i32.mul (i32.add (local.get $r) (i32.shl (local.get $k) (i32.const 2))) (local.get $cols))
                        (local.get $c))
                      (i32.const 2)))
                  (local.get $inPitch)
                  (i32.add (local.get $dst)
                    (i32.shl
                      (i32.add (i32.mul (local.get $c) (local.get $rows))
                        (i32.add (local.get $r) (i32.shl (local.get $k) (i32.const 2))))
                      (i32.const 2)))
                  (local.get $outPitch))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $kLoop)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cLoop)))
        (local.set $r (i32.add (local.get $r) (i32.shl (local.get $lines) (i32.const 2))))
        (br $rLoop))))

  ;; One [rows, cols] matrix at $src into [cols, rows] at $dst. Sixteen input rows at a time
  ;; write whole 64-byte lines of the output: with narrower strips, an output pitch of 4 KiB
  ;; (1,024 rows) sent every line of a strip to the same L1 set, and the transpose ran 4× slower.
  (func $matrix (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $rows4 i32) (local $rows16 i32) (local $cols4 i32)
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $rows16 (i32.and (local.get $rows) (i32.const -16)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (call $blocks (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
      (i32.const 0) (local.get $rows16) (local.get $cols4) (i32.const 4))
    (call $blocks (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
      (local.get $rows16) (local.get $rows4) (local.get $cols4) (i32.const 1))
    ;; the last rows mod 4 rows, then the last cols mod 4 columns of the others
    (call $scalar (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
      (local.get $rows4) (local.get $rows) (i32.const 0) (local.get $cols))
    (call $scalar (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
      (i32.const 0) (local.get $rows4) (local.get $cols4) (local.get $cols)))

  ;; $batch matrices of [rows, cols] 32-bit elements at $src into [cols, rows] each at $dst.
  (func (export "transpose") (param $src i32) (param $dst i32) (param $batch i32) (param $rows i32) (param $cols i32)
    (local $b i32) (local $bytes i32)
    (local.set $bytes (i32.shl (i32.mul (local.get $rows) (local.get $cols)) (i32.const 2)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $b) (local.get $batch)))
        (call $matrix
          (i32.add (local.get $src) (i32.mul (local.get $b) (local.get $bytes)))
          (i32.add (local.get $dst) (i32.mul (local.get $b) (local.get $bytes)))
          (local.get $rows) (local.get $cols))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $each)))))
