;; Causal multi-head self-attention over whole sequences, forward and backward, with 128-bit
;; SIMD over the head dimension D (a multiple of 4). Query i reads keys 0..i only. Compiled by scripts/build-wasm.ts into
;; attention_wasm.ts; it runs on the tfjs wasm backend's own memory, by byte offset.
;;
;; Layouts (float32, row-major): qkv [B*T, 3C], token row r holds q | k | v with head h at h*D;
;; bias [biasRows, T, T] added to the scaled scores (padding masks); y and dy [B*T, C]; dqkv like qkv.
;; `p` and `ds` are caller-provided scratch rows of Tp floats (T rounded up to a multiple of 4).
(module
  (import "env" "memory" (memory 0))

  ;; include: exp.wat

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Dot product of D floats at byte offsets $a and $b.
  (func $dot (param $a i32) (param $b i32) (param $D i32) (result f32)
    (local $acc v128) (local $at i32) (local $end i32)
    (local.set $end (i32.shl (local.get $D) (i32.const 2)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
      (local.set $acc
        (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $at)))
                     (v128.load (i32.add (local.get $b) (local.get $at))))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $l)))
    (call $hsum (local.get $acc)))

;; Four dot products of D floats, $a with the rows at $b + k·$pitch (k = 0..3), as one vector:
  ;; four accumulators share each load of $a. Lanes are added (0+1)+(2+3), as $dot's $hsum
  ;; adds them, so each product is the same float as $dot's.
  (func $dot4 (param $a i32) (param $b i32) (param $pitch i32) (param $D i32) (result v128)
    (local $at i32) (local $end i32) (local $x v128) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $t0 v128) (local $t1 v128)
    (local.set $end (i32.shl (local.get $D) (i32.const 2)))
    (local.set $b1 (i32.add (local.get $b) (local.get $pitch)))
    (local.set $b2 (i32.add (local.get $b1) (local.get $pitch)))
    (local.set $b3 (i32.add (local.get $b2) (local.get $pitch)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
      (local.set $x (v128.load (i32.add (local.get $a) (local.get $at))))
      (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $b) (local.get $at))))))
      (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $b1) (local.get $at))))))
      (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $b2) (local.get $at))))))
      (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $b3) (local.get $at))))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $l)))
    ;; t0 = s0₀+s0₁, s1₀+s1₁, s0₂+s0₃, s1₂+s1₃ (t1 likewise for s2, s3)
    (local.set $t0
      (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 8 9 10 11 24 25 26 27 (local.get $s0) (local.get $s1))
        (i8x16.shuffle 4 5 6 7 20 21 22 23 12 13 14 15 28 29 30 31 (local.get $s0) (local.get $s1))))
    (local.set $t1
      (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 8 9 10 11 24 25 26 27 (local.get $s2) (local.get $s3))
        (i8x16.shuffle 4 5 6 7 20 21 22 23 12 13 14 15 28 29 30 31 (local.get $s2) (local.get $s3))))
    (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1))))

    ;; dst[0..D) += s * src[0..D)
  (func $axpy (param $dst i32) (param $src i32) (param $s f32) (param $D i32)
    (local $at i32) (local $end i32) (local $sv v128)
    (local.set $end (i32.shl (local.get $D) (i32.const 2)))
    (local.set $sv (f32x4.splat (local.get $s)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
      (v128.store (i32.add (local.get $dst) (local.get $at))
        (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $at)))
          (f32x4.mul (local.get $sv) (v128.load (i32.add (local.get $src) (local.get $at))))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $l))))

;; dv += pv·g, dq += s·k and dk += s·q over D floats: one key's three gradient updates in
  ;; one pass (each the same float as its own $axpy).
  (func $update3 (param $dv i32) (param $g i32) (param $pv f32) (param $dq i32) (param $k i32)
    (param $dk i32) (param $q i32) (param $s f32) (param $D i32)
    (local $at i32) (local $end i32) (local $pvv v128) (local $sv v128)
    (local.set $end (i32.shl (local.get $D) (i32.const 2)))
    (local.set $pvv (f32x4.splat (local.get $pv)))
    (local.set $sv (f32x4.splat (local.get $s)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
      (v128.store (i32.add (local.get $dv) (local.get $at))
        (f32x4.add (v128.load (i32.add (local.get $dv) (local.get $at)))
          (f32x4.mul (local.get $pvv) (v128.load (i32.add (local.get $g) (local.get $at))))))
      (v128.store (i32.add (local.get $dq) (local.get $at))
        (f32x4.add (v128.load (i32.add (local.get $dq) (local.get $at)))
          (f32x4.mul (local.get $sv) (v128.load (i32.add (local.get $k) (local.get $at))))))
      (v128.store (i32.add (local.get $dk) (local.get $at))
        (f32x4.add (v128.load (i32.add (local.get $dk) (local.get $at)))
          (f32x4.mul (local.get $sv) (v128.load (i32.add (local.get $q) (local.get $at))))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $l))))

    ;; p[0..i] = softmax over j <= i of scale * q_i . k_j + bias[i, j] for token row $row0 + i of a
  ;; sequence whose first token row is $row0 (head offset $hOff bytes); p(i..Tp) = 0: keys after
  ;; the query are causally hidden, so they are never computed.
  (func $probs
    (param $qkv i32) (param $biasRow i32) (param $p i32) (param $row0 i32) (param $i i32)
    (param $hOff i32) (param $T i32) (param $D i32) (param $C i32) (param $Tp i32)
    (local $stride i32) (local $q i32) (local $k i32) (local $j i32) (local $s f32) (local $max f32)
    (local $at i32) (local $end i32) (local $m v128) (local $sum v128) (local $e v128) (local $inv v128)
    (local $scale f32)
    (local.set $scale (f32.div (f32.const 1) (f32.sqrt (f32.convert_i32_u (local.get $D)))))
    (local.set $stride (i32.mul (local.get $C) (i32.const 12)))
    (local.set $q
      (i32.add (i32.add (local.get $qkv) (i32.mul (i32.add (local.get $row0) (local.get $i)) (local.get $stride)))
        (local.get $hOff)))
    (local.set $k
      (i32.add (i32.add (local.get $qkv) (i32.mul (local.get $row0) (local.get $stride)))
        (i32.add (local.get $hOff) (i32.shl (local.get $C) (i32.const 2)))))
    (local.set $max (f32.const -inf))
    ;; keys four at a time while all four are visible, then one at a time
    (local.set $m (f32x4.splat (f32.const -inf)))
    (block $groupsDone (loop $groups
      (br_if $groupsDone (i32.gt_u (i32.add (local.get $j) (i32.const 3)) (local.get $i)))
      (local.set $e
        (f32x4.add
          (f32x4.mul (call $dot4 (local.get $q) (local.get $k) (local.get $stride) (local.get $D))
            (f32x4.splat (local.get $scale)))
          (v128.load (i32.add (local.get $biasRow) (i32.shl (local.get $j) (i32.const 2))))))
      (v128.store (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2))) (local.get $e))
      (local.set $m (f32x4.max (local.get $m) (local.get $e)))
      (local.set $k (i32.add (local.get $k) (i32.shl (local.get $stride) (i32.const 2))))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $groups)))
    (local.set $max
      (f32.max
        (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
        (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
    (block $done (loop $keys
      (br_if $done (i32.gt_u (local.get $j) (local.get $i)))
      (local.set $s
        (f32.add
          (f32.mul (call $dot (local.get $q) (local.get $k) (local.get $D)) (local.get $scale))
          (f32.load (i32.add (local.get $biasRow) (i32.shl (local.get $j) (i32.const 2))))))
      (f32.store (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2))) (local.get $s))
      (local.set $max (f32.max (local.get $max) (local.get $s)))
      (local.set $k (i32.add (local.get $k) (local.get $stride)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $keys)))
    ;; later keys and padding lanes: -inf, so e^(x - max) is 0 there
    (block $padDone (loop $pad
      (br_if $padDone (i32.ge_u (local.get $j) (local.get $Tp)))
      (f32.store (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2))) (f32.const -inf))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $pad)))
    (local.set $m (f32x4.splat (local.get $max)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $Tp) (i32.const 2))))
    (local.set $at (local.get $p))
    (block $expDone (loop $exps
      (br_if $expDone (i32.ge_u (local.get $at) (local.get $end)))
      (local.set $e (call $exp (f32x4.sub (v128.load (local.get $at)) (local.get $m))))
      (v128.store (local.get $at) (local.get $e))
      (local.set $sum (f32x4.add (local.get $sum) (local.get $e)))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $exps)))
    (local.set $inv (f32x4.splat (f32.div (f32.const 1) (call $hsum (local.get $sum)))))
    (local.set $at (local.get $p))
    (block $normDone (loop $norm
      (br_if $normDone (i32.ge_u (local.get $at) (local.get $end)))
      (v128.store (local.get $at) (f32x4.mul (v128.load (local.get $at)) (local.get $inv)))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $norm))))

  ;; Byte offset of bias row (b, i).
  (func $biasRow (param $bias i32) (param $b i32) (param $i i32) (param $T i32) (param $biasRows i32) (result i32)
    (i32.add (local.get $bias)
      (i32.shl
        (i32.mul
          (i32.add
            (i32.mul (select (i32.const 0) (local.get $b) (i32.eq (local.get $biasRows) (i32.const 1))) (local.get $T))
            (local.get $i))
          (local.get $T))
        (i32.const 2))))

  (func (export "forward")
    (param $qkv i32) (param $bias i32) (param $y i32) (param $p i32)
    (param $B i32) (param $T i32) (param $H i32) (param $D i32) (param $biasRows i32) (param $Tp i32)
    (local $C i32) (local $stride i32) (local $b i32) (local $h i32) (local $i i32) (local $j i32)
    (local $hOff i32) (local $out i32) (local $v i32) (local $at i32) (local $dBytes i32) (local $acc v128)
    (local.set $C (i32.mul (local.get $H) (local.get $D)))
    (local.set $stride (i32.mul (local.get $C) (i32.const 12)))
    (local.set $dBytes (i32.shl (local.get $D) (i32.const 2)))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_u (local.get $b) (local.get $B)))
      (local.set $h (i32.const 0))
      (block $hDone (loop $hLoop
        (br_if $hDone (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $hOff (i32.mul (local.get $h) (local.get $dBytes)))
        (local.set $i (i32.const 0))
        (block $iDone (loop $iLoop
          (br_if $iDone (i32.ge_u (local.get $i) (local.get $T)))
          (call $probs (local.get $qkv)
            (call $biasRow (local.get $bias) (local.get $b) (local.get $i) (local.get $T) (local.get $biasRows))
            (local.get $p) (i32.mul (local.get $b) (local.get $T)) (local.get $i) (local.get $hOff)
            (local.get $T) (local.get $D) (local.get $C) (local.get $Tp))
          ;; y row = sum_j p_j v_j, one 4-lane slice of D at a time
          (local.set $out
            (i32.add (i32.add (local.get $y)
              (i32.shl (i32.mul (i32.add (i32.mul (local.get $b) (local.get $T)) (local.get $i)) (local.get $C)) (i32.const 2)))
              (local.get $hOff)))
          (local.set $at (i32.const 0))
          (block $dDone (loop $dLoop
            (br_if $dDone (i32.ge_u (local.get $at) (local.get $dBytes)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $v
              (i32.add (i32.add (local.get $qkv) (i32.mul (i32.mul (local.get $b) (local.get $T)) (local.get $stride)))
                (i32.add (i32.add (local.get $hOff) (i32.shl (local.get $C) (i32.const 3))) (local.get $at))))
            (local.set $j (i32.const 0))
            (block $jDone (loop $jLoop
              (br_if $jDone (i32.gt_u (local.get $j) (local.get $i)))
              (local.set $acc
                (f32x4.add (local.get $acc)
                  (f32x4.mul
                    (v128.load32_splat (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2))))
                    (v128.load (local.get $v)))))
              (local.set $v (i32.add (local.get $v) (local.get $stride)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $jLoop)))
            (v128.store (i32.add (local.get $out) (local.get $at)) (local.get $acc))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $dLoop)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $iLoop)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $hLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop))))

  ;; dqkv from dy, recomputing each row's probabilities: dV += p_j dY_i, dP_j = dY_i . V_j,
  ;; dS_j = p_j (dP_j - sum_j dP_j p_j), dQ_i += scale dS_j K_j, dK_j += scale dS_j Q_i.
  (func (export "backward")
    (param $dy i32) (param $qkv i32) (param $bias i32) (param $dqkv i32) (param $p i32) (param $ds i32)
    (param $B i32) (param $T i32) (param $H i32) (param $D i32) (param $biasRows i32) (param $Tp i32)
    (local $C i32) (local $stride i32) (local $b i32) (local $h i32) (local $i i32) (local $j i32)
    (local $hOff i32) (local $g i32) (local $row0 i32) (local $dBytes i32)
    (local $kv i32) (local $dkv i32) (local $q i32) (local $dq i32)
    (local $vOff i32) (local $pj f32) (local $rowDot f32) (local $s f32) (local $scale f32)
    (local.set $C (i32.mul (local.get $H) (local.get $D)))
    (local.set $stride (i32.mul (local.get $C) (i32.const 12)))
    (local.set $dBytes (i32.shl (local.get $D) (i32.const 2)))
    (local.set $scale (f32.div (f32.const 1) (f32.sqrt (f32.convert_i32_u (local.get $D)))))
    (memory.fill (local.get $dqkv) (i32.const 0)
      (i32.mul (i32.mul (local.get $B) (local.get $T)) (local.get $stride)))
    (block $bDone (loop $bLoop
      (br_if $bDone (i32.ge_u (local.get $b) (local.get $B)))
      (local.set $row0 (i32.mul (local.get $b) (local.get $T)))
      (local.set $h (i32.const 0))
      (block $hDone (loop $hLoop
        (br_if $hDone (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $hOff (i32.mul (local.get $h) (local.get $dBytes)))
        (local.set $i (i32.const 0))
        (block $iDone (loop $iLoop
          (br_if $iDone (i32.ge_u (local.get $i) (local.get $T)))
          (call $probs (local.get $qkv)
            (call $biasRow (local.get $bias) (local.get $b) (local.get $i) (local.get $T) (local.get $biasRows))
            (local.get $p) (local.get $row0) (local.get $i) (local.get $hOff)
            (local.get $T) (local.get $D) (local.get $C) (local.get $Tp))
          (local.set $g
            (i32.add (i32.add (local.get $dy)
              (i32.shl (i32.mul (i32.add (local.get $row0) (local.get $i)) (local.get $C)) (i32.const 2)))
              (local.get $hOff)))
          ;; dP_j = dY_i . V_j into ds, four keys at a time while all four are visible
          (local.set $kv
            (i32.add (i32.mul (local.get $row0) (local.get $stride))
              (i32.add (local.get $hOff) (i32.shl (local.get $C) (i32.const 3)))))
          (local.set $j (i32.const 0))
          (block $dpDone (loop $dpLoop
            (br_if $dpDone (i32.gt_u (local.get $j) (local.get $i)))
            (if (i32.le_u (i32.add (local.get $j) (i32.const 3)) (local.get $i))
              (then
                (v128.store (i32.add (local.get $ds) (i32.shl (local.get $j) (i32.const 2)))
                  (call $dot4 (local.get $g) (i32.add (local.get $qkv) (local.get $kv)) (local.get $stride) (local.get $D)))
                (local.set $kv (i32.add (local.get $kv) (i32.shl (local.get $stride) (i32.const 2))))
                (local.set $j (i32.add (local.get $j) (i32.const 4))))
              (else
                (f32.store (i32.add (local.get $ds) (i32.shl (local.get $j) (i32.const 2)))
                  (call $dot (local.get $g) (i32.add (local.get $qkv) (local.get $kv)) (local.get $D)))
                (local.set $kv (i32.add (local.get $kv) (local.get $stride)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))))
            (br $dpLoop)))
          ;; the row's sum of dP_j p_j, in key order
          (local.set $rowDot (f32.const 0))
          (local.set $j (i32.const 0))
          (block $sumDone (loop $sumLoop
            (br_if $sumDone (i32.gt_u (local.get $j) (local.get $i)))
            (local.set $rowDot
              (f32.add (local.get $rowDot)
                (f32.mul (f32.load (i32.add (local.get $ds) (i32.shl (local.get $j) (i32.const 2))))
                  (f32.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $sumLoop)))
          ;; dV_j, dQ_i and dK_j, one pass over D per key (skipping exact zeros, as ever)
          (local.set $q
            (i32.add (i32.mul (i32.add (local.get $row0) (local.get $i)) (local.get $stride)) (local.get $hOff)))
          (local.set $kv
            (i32.add (i32.mul (local.get $row0) (local.get $stride))
              (i32.add (local.get $hOff) (i32.shl (local.get $C) (i32.const 2)))))
          (local.set $vOff (i32.shl (local.get $C) (i32.const 2)))
          (local.set $j (i32.const 0))
          (block $kDone (loop $kLoop
            (br_if $kDone (i32.gt_u (local.get $j) (local.get $i)))
            (local.set $pj (f32.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $s
              (f32.mul
                (f32.mul (local.get $pj)
                  (f32.sub (f32.load (i32.add (local.get $ds) (i32.shl (local.get $j) (i32.const 2)))) (local.get $rowDot)))
                (local.get $scale)))
            (if (i32.and (f32.ne (local.get $pj) (f32.const 0)) (f32.ne (local.get $s) (f32.const 0)))
              (then
                (call $update3
                  (i32.add (local.get $dqkv) (i32.add (local.get $kv) (local.get $vOff))) (local.get $g) (local.get $pj)
                  (i32.add (local.get $dqkv) (local.get $q)) (i32.add (local.get $qkv) (local.get $kv))
                  (i32.add (local.get $dqkv) (local.get $kv)) (i32.add (local.get $qkv) (local.get $q))
                  (local.get $s) (local.get $D)))
              (else
                (if (f32.ne (local.get $pj) (f32.const 0))
                  (then
                    (call $axpy (i32.add (local.get $dqkv) (i32.add (local.get $kv) (local.get $vOff)))
                      (local.get $g) (local.get $pj) (local.get $D))))
                (if (f32.ne (local.get $s) (f32.const 0))
                  (then
                    (call $axpy (i32.add (local.get $dqkv) (local.get $q)) (i32.add (local.get $qkv) (local.get $kv))
                      (local.get $s) (local.get $D))
                    (call $axpy (i32.add (local.get $dqkv) (local.get $kv)) (i32.add (local.get $qkv) (local.get $q))
                      (local.get $s) (local.get $D))))))
            (local.set $kv (i32.add (local.get $kv) (local.get $stride)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $kLoop)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $iLoop)))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $hLoop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bLoop)))))
