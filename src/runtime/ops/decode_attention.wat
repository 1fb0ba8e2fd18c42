;; One decode step of multi-head attention over a preallocated KV cache, with 128-bit SIMD.
;; Compiled by scripts/build-wasm.ts into decode_attention_wasm.ts; it runs on the tfjs wasm
;; backend's own memory, so tensors are read and written in place, by byte offset.
;;
;; Layouts (float32, row-major): qkv [B, 3C] holds each row's q | k | v with head h at h*D;
;; caches [B*H, cap, D]; mask [B, S] (0 hides a key); scores [B*H, Sp], each row padded with
;; -inf from S to Sp, a multiple of 4, so softmax runs on whole vectors; out [B, C].
(module
  (import "env" "memory" (memory 0))

  ;; Writes each row's new key and value into the caches at row `pos`.
  (func (export "append")
    (param $qkv i32) (param $kc i32) (param $vc i32)
    (param $B i32) (param $H i32) (param $D i32) (param $cap i32) (param $pos i32)
    (local $bh i32) (local $n i32) (local $C i32) (local $src i32) (local $dst i32) (local $bytes i32)
    (local.set $C (i32.mul (local.get $H) (local.get $D)))
    (local.set $n (i32.mul (local.get $B) (local.get $H)))
    (local.set $bytes (i32.shl (local.get $D) (i32.const 2)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $bh) (local.get $n)))
        ;; src = qkv + 4 * (b*3C + C + h*D), with b = bh / H, h = bh % H
        (local.set $src
          (i32.add (local.get $qkv)
            (i32.shl
              (i32.add
                (i32.add
                  (i32.mul (i32.div_u (local.get $bh) (local.get $H)) (i32.mul (local.get $C) (i32.const 3)))
                  (local.get $C))
                (i32.mul (i32.rem_u (local.get $bh) (local.get $H)) (local.get $D)))
              (i32.const 2))))
        ;; dst = 4 * ((bh*cap + pos) * D)
        (local.set $dst
          (i32.shl
            (i32.mul (i32.add (i32.mul (local.get $bh) (local.get $cap)) (local.get $pos)) (local.get $D))
            (i32.const 2)))
        (memory.copy (i32.add (local.get $kc) (local.get $dst)) (local.get $src) (local.get $bytes))
        (memory.copy
          (i32.add (local.get $vc) (local.get $dst))
          (i32.add (local.get $src) (i32.shl (local.get $C) (i32.const 2)))
          (local.get $bytes))
        (local.set $bh (i32.add (local.get $bh) (i32.const 1)))
        (br $rows))))

  ;; scores[bh, s] = scale * q(bh) . k(bh, s) for keys with mask 1, -inf for masked keys. When
  ;; D is a multiple of 4, four keys go at once: four independent accumulators, then one
  ;; shuffle-reduce gives their four sums in one vector.
  (func (export "scores")
    (param $qkv i32) (param $kc i32) (param $mask i32) (param $out i32)
    (param $B i32) (param $H i32) (param $D i32) (param $cap i32) (param $S i32) (param $Sp i32)
    (param $scale f32)
    (local $bh i32) (local $n i32) (local $s i32) (local $d i32) (local $d4 i32) (local $S4 i32)
    (local $q i32) (local $k i32) (local $m i32) (local $o i32) (local $rowBytes i32) (local $j i32)
    (local $acc v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $qv v128)
    (local $t0 v128) (local $t1 v128) (local $sum f32)
    (local.set $n (i32.mul (local.get $B) (local.get $H)))
    (local.set $d4 (i32.and (local.get $D) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $D) (i32.const 2)))
    ;; keys handled four at a time (none when D has a tail)
    (local.set $S4
      (select (i32.and (local.get $S) (i32.const -4)) (i32.const 0)
        (i32.eq (local.get $d4) (local.get $D))))
    (local.set $o (local.get $out))
    (block $doneRows
      (loop $rows
        (br_if $doneRows (i32.ge_u (local.get $bh) (local.get $n)))
        ;; q = qkv + 4 * (b*3C + h*D), where b*3C + h*D = (b*3H + h) * D
        (local.set $q
          (i32.add (local.get $qkv)
            (i32.shl
              (i32.mul
                (i32.add
                  (i32.mul (i32.div_u (local.get $bh) (local.get $H)) (i32.mul (local.get $H) (i32.const 3)))
                  (i32.rem_u (local.get $bh) (local.get $H)))
                (local.get $D))
              (i32.const 2))))
        (local.set $k
          (i32.add (local.get $kc)
            (i32.shl (i32.mul (i32.mul (local.get $bh) (local.get $cap)) (local.get $D)) (i32.const 2))))
        (local.set $m
          (i32.add (local.get $mask)
            (i32.shl (i32.mul (i32.div_u (local.get $bh) (local.get $H)) (local.get $S)) (i32.const 2))))
        (local.set $s (i32.const 0))
        (block $doneQuads
          (loop $quads
            (br_if $doneQuads (i32.ge_u (local.get $s) (local.get $S4)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $a2 (v128.const i32x4 0 0 0 0))
            (local.set $a3 (v128.const i32x4 0 0 0 0))
            (local.set $d (i32.const 0))
            (block $doneQuadVec
              (loop $quadVec
                (local.set $qv (v128.load (i32.add (local.get $q) (local.get $d))))
                (local.set $j (i32.add (local.get $k) (local.get $d)))
                (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $qv) (v128.load (local.get $j)))))
                (local.set $j (i32.add (local.get $j) (local.get $rowBytes)))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $qv) (v128.load (local.get $j)))))
                (local.set $j (i32.add (local.get $j) (local.get $rowBytes)))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $qv) (v128.load (local.get $j)))))
                (local.set $j (i32.add (local.get $j) (local.get $rowBytes)))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $qv) (v128.load (local.get $j)))))
                ;; $d counts bytes here; D ≥ 4 on this path, so the body runs at least once
                (local.set $d (i32.add (local.get $d) (i32.const 16)))
                (br_if $quadVec (i32.lt_u (local.get $d) (local.get $rowBytes)))))
            ;; [acc0+acc2, acc1+acc3, a1_0+a1_2, a1_1+a1_3] and the same for a2, a3
            (local.set $t0
              (f32x4.add
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $acc) (local.get $a1))
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $acc) (local.get $a1))))
            (local.set $t1
              (f32x4.add
                (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $a2) (local.get $a3))
                (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $a2) (local.get $a3))))
            (v128.store (local.get $o)
              (f32x4.mul (f32x4.splat (local.get $scale))
                (f32x4.add
                  (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $t0) (local.get $t1))
                  (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $t0) (local.get $t1)))))
            ;; masked keys of the four
            (local.set $j (i32.const 0))
            (block $doneMask
              (loop $maskLoop
                (br_if $doneMask (i32.ge_u (local.get $j) (i32.const 16)))
                (if (f32.eq (f32.load (i32.add (local.get $m) (local.get $j))) (f32.const 0))
                  (then (f32.store (i32.add (local.get $o) (local.get $j)) (f32.const -inf))))
                (local.set $j (i32.add (local.get $j) (i32.const 4)))
                (br $maskLoop)))
            (local.set $o (i32.add (local.get $o) (i32.const 16)))
            (local.set $m (i32.add (local.get $m) (i32.const 16)))
            (local.set $k (i32.add (local.get $k) (i32.shl (local.get $rowBytes) (i32.const 2))))
            (local.set $s (i32.add (local.get $s) (i32.const 4)))
            (br $quads)))
        (block $doneKeys
          (loop $keys
            (br_if $doneKeys (i32.ge_u (local.get $s) (local.get $S)))
            (if (f32.eq (f32.load (local.get $m)) (f32.const 0))
              (then (f32.store (local.get $o) (f32.const -inf)))
              (else
                (local.set $acc (v128.const i32x4 0 0 0 0))
                (local.set $d (i32.const 0))
                (block $doneVec
                  (loop $vec
                    (br_if $doneVec (i32.ge_u (local.get $d) (local.get $d4)))
                    (local.set $acc
                      (f32x4.add (local.get $acc)
                        (f32x4.mul
                          (v128.load (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 2))))
                          (v128.load (i32.add (local.get $k) (i32.shl (local.get $d) (i32.const 2)))))))
                    (local.set $d (i32.add (local.get $d) (i32.const 4)))
                    (br $vec)))
                (local.set $sum
                  (f32.add
                    (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                    (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
                (block $doneTail
                  (loop $tail
                    (br_if $doneTail (i32.ge_u (local.get $d) (local.get $D)))
                    (local.set $sum
                      (f32.add (local.get $sum)
                        (f32.mul
                          (f32.load (i32.add (local.get $q) (i32.shl (local.get $d) (i32.const 2))))
                          (f32.load (i32.add (local.get $k) (i32.shl (local.get $d) (i32.const 2)))))))
                    (local.set $d (i32.add (local.get $d) (i32.const 1)))
                    (br $tail)))
                (f32.store (local.get $o) (f32.mul (local.get $sum) (local.get $scale)))))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $m (i32.add (local.get $m) (i32.const 4)))
            (local.set $k (i32.add (local.get $k) (local.get $rowBytes)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (br $keys)))
        ;; the row's padding up to the stride Sp: no weight after softmax
        (block $donePad
          (loop $pad
            (br_if $donePad (i32.ge_u (local.get $s) (local.get $Sp)))
            (f32.store (local.get $o) (f32.const -inf))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (local.set $s (i32.add (local.get $s) (i32.const 1)))
            (br $pad)))
        (local.set $bh (i32.add (local.get $bh) (i32.const 1)))
        (br $rows))))

  ;; include: exp.wat

  ;; Softmax of each of `rows` rows of Sp floats (Sp a multiple of 4) in place; a row that is all
  ;; -inf becomes all 0.
  (func (export "softmax") (param $p i32) (param $rows i32) (param $Sp i32)
    (local $r i32) (local $i i32) (local $end i32) (local $mx v128) (local $sum v128) (local $e v128)
    (local $m f32) (local $inv f32)
    (block $doneRows
      (loop $rowLoop
        (br_if $doneRows (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $Sp) (i32.const 2))))
        (local.set $mx (f32x4.splat (f32.const -inf)))
        (local.set $i (local.get $p))
        (block $doneMax
          (loop $maxLoop
            (br_if $doneMax (i32.ge_u (local.get $i) (local.get $end)))
            (local.set $mx (f32x4.max (local.get $mx) (v128.load (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $maxLoop)))
        (local.set $m
          (f32.max
            (f32.max (f32x4.extract_lane 0 (local.get $mx)) (f32x4.extract_lane 1 (local.get $mx)))
            (f32.max (f32x4.extract_lane 2 (local.get $mx)) (f32x4.extract_lane 3 (local.get $mx)))))
        (if (f32.eq (local.get $m) (f32.const -inf))
          (then (memory.fill (local.get $p) (i32.const 0) (i32.shl (local.get $Sp) (i32.const 2))))
          (else
            (local.set $sum (v128.const i32x4 0 0 0 0))
            (local.set $i (local.get $p))
            (block $doneExp
              (loop $expLoop
                (br_if $doneExp (i32.ge_u (local.get $i) (local.get $end)))
                (local.set $e
                  (call $exp (f32x4.sub (v128.load (local.get $i)) (f32x4.splat (local.get $m)))))
                (v128.store (local.get $i) (local.get $e))
                (local.set $sum (f32x4.add (local.get $sum) (local.get $e)))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br $expLoop)))
            (local.set $inv
              (f32.div (f32.const 1)
                (f32.add
                  (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
                  (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum))))))
            (local.set $i (local.get $p))
            (block $doneScale
              (loop $scaleLoop
                (br_if $doneScale (i32.ge_u (local.get $i) (local.get $end)))
                (v128.store (local.get $i) (f32x4.mul (v128.load (local.get $i)) (f32x4.splat (local.get $inv))))
                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                (br $scaleLoop)))))
        (local.set $p (local.get $end))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; out[b, h*D + d] = sum_s p[bh, s] * v(bh, s, d), four lanes of d at a time.
  (func (export "weighted")
    (param $p i32) (param $vc i32) (param $out i32)
    (param $B i32) (param $H i32) (param $D i32) (param $cap i32) (param $S i32) (param $Sp i32)
    (local $bh i32) (local $n i32) (local $s i32) (local $d i32) (local $d4 i32)
    (local $prow i32) (local $v i32) (local $o i32) (local $ps i32) (local $vs i32)
    (local $acc v128) (local $sum f32) (local $rowBytes i32)
    (local.set $n (i32.mul (local.get $B) (local.get $H)))
    (local.set $d4 (i32.and (local.get $D) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $D) (i32.const 2)))
    (block $doneRows
      (loop $rows
        (br_if $doneRows (i32.ge_u (local.get $bh) (local.get $n)))
        (local.set $prow
          (i32.add (local.get $p) (i32.shl (i32.mul (local.get $bh) (local.get $Sp)) (i32.const 2))))
        (local.set $v
          (i32.add (local.get $vc)
            (i32.shl (i32.mul (i32.mul (local.get $bh) (local.get $cap)) (local.get $D)) (i32.const 2))))
        ;; out is [B, C] and bh = b*H + h, so row bh's D outputs start at bh*D.
        (local.set $o
          (i32.add (local.get $out) (i32.shl (i32.mul (local.get $bh) (local.get $D)) (i32.const 2))))
        (local.set $d (i32.const 0))
        (block $doneVec
          (loop $vec
            (br_if $doneVec (i32.ge_u (local.get $d) (local.get $d4)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $ps (local.get $prow))
            (local.set $vs (i32.add (local.get $v) (i32.shl (local.get $d) (i32.const 2))))
            (local.set $s (i32.const 0))
            (block $doneKeys
              (loop $keys
                (br_if $doneKeys (i32.ge_u (local.get $s) (local.get $S)))
                (local.set $acc
                  (f32x4.add (local.get $acc)
                    (f32x4.mul (f32x4.splat (f32.load (local.get $ps))) (v128.load (local.get $vs)))))
                (local.set $ps (i32.add (local.get $ps) (i32.const 4)))
                (local.set $vs (i32.add (local.get $vs) (local.get $rowBytes)))
                (local.set $s (i32.add (local.get $s) (i32.const 1)))
                (br $keys)))
            (v128.store (i32.add (local.get $o) (i32.shl (local.get $d) (i32.const 2))) (local.get $acc))
            (local.set $d (i32.add (local.get $d) (i32.const 4)))
            (br $vec)))
        (block $doneTail
          (loop $tail
            (br_if $doneTail (i32.ge_u (local.get $d) (local.get $D)))
            (local.set $sum (f32.const 0))
            (local.set $ps (local.get $prow))
            (local.set $vs (i32.add (local.get $v) (i32.shl (local.get $d) (i32.const 2))))
            (local.set $s (i32.const 0))
            (block $doneTailKeys
              (loop $tailKeys
                (br_if $doneTailKeys (i32.ge_u (local.get $s) (local.get $S)))
                (local.set $sum
                  (f32.add (local.get $sum) (f32.mul (f32.load (local.get $ps)) (f32.load (local.get $vs)))))
                (local.set $ps (i32.add (local.get $ps) (i32.const 4)))
                (local.set $vs (i32.add (local.get $vs) (local.get $rowBytes)))
                (local.set $s (i32.add (local.get $s) (i32.const 1)))
                (br $tailKeys)))
            (f32.store (i32.add (local.get $o) (i32.shl (local.get $d) (i32.const 2))) (local.get $sum))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (br $tail)))
        (local.set $bh (i32.add (local.get $bh) (i32.const 1)))
        (br $rows))))
)
