;; LayerNorm over the last axis, forward and backward, with 128-bit SIMD. Compiled by
;; scripts/build-wasm.ts into layer_norm_wasm.ts; it runs on the tfjs wasm backend's own memory.
;;
;; x, y, dy, dx are [N, C] row-major; weight, bias, dweight, dbias are [C]. Each row's mean and
;; 1/sqrt(var + eps) come from two passes (a one-pass sum of squares loses the variance when
;; |mean| is large against the spread). Columns past the last multiple of 4 run as scalars.
(module
  (import "env" "memory" (memory 0))
  (global $mean (mut f32) (f32.const 0))
  (global $rstd (mut f32) (f32.const 0))

  ;; Horizontal sum of four lanes.
  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; Sets $mean and $rstd of the row of C floats at byte offset $row.
  (func $rowStats (param $row i32) (param $C i32) (param $eps f32)
    (local $at i32) (local $vecEnd i32) (local $end i32) (local $acc v128) (local $s f32)
    (local $m v128) (local $d v128) (local $e f32)
    (local.set $end (i32.shl (local.get $C) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $C) (i32.const -4)) (i32.const 2)))
    ;; mean
    (local.set $acc (v128.const i32x4 0 0 0 0))
    (block $d1 (loop $l1
      (br_if $d1 (i32.ge_u (local.get $at) (local.get $vecEnd)))
      (local.set $acc (f32x4.add (local.get $acc) (v128.load (i32.add (local.get $row) (local.get $at)))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $l1)))
    (local.set $s (call $hsum (local.get $acc)))
    (block $d2 (loop $l2
      (br_if $d2 (i32.ge_u (local.get $at) (local.get $end)))
      (local.set $s (f32.add (local.get $s) (f32.load (i32.add (local.get $row) (local.get $at)))))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br $l2)))
    (global.set $mean (f32.div (local.get $s) (f32.convert_i32_u (local.get $C))))
    ;; variance about the mean
    (local.set $m (f32x4.splat (global.get $mean)))
    (local.set $acc (v128.const i32x4 0 0 0 0))
    (local.set $at (i32.const 0))
    (block $d3 (loop $l3
      (br_if $d3 (i32.ge_u (local.get $at) (local.get $vecEnd)))
      (local.set $d (f32x4.sub (v128.load (i32.add (local.get $row) (local.get $at))) (local.get $m)))
      (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $l3)))
    (local.set $s (call $hsum (local.get $acc)))
    (block $d4 (loop $l4
      (br_if $d4 (i32.ge_u (local.get $at) (local.get $end)))
      (local.set $e (f32.sub (f32.load (i32.add (local.get $row) (local.get $at))) (global.get $mean)))
      (local.set $s (f32.add (local.get $s) (f32.mul (local.get $e) (local.get $e))))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br $l4)))
    (global.set $rstd
      (f32.div (f32.const 1)
        (f32.sqrt (f32.add (f32.div (local.get $s) (f32.convert_i32_u (local.get $C))) (local.get $eps))))))

  ;; y = (x - mean) * rstd * weight + bias, row by row.
  (func (export "forward")
    (param $x i32) (param $w i32) (param $b i32) (param $y i32) (param $N i32) (param $C i32)
    (param $eps f32)
    (local $r i32) (local $rowBytes i32) (local $vecEnd i32) (local $at i32) (local $xr i32) (local $yr i32)
    (local $m v128) (local $s v128)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $C) (i32.const -4)) (i32.const 2)))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $N)))
      (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowBytes))))
      (local.set $yr (i32.add (local.get $y) (i32.mul (local.get $r) (local.get $rowBytes))))
      (call $rowStats (local.get $xr) (local.get $C) (local.get $eps))
      (local.set $m (f32x4.splat (global.get $mean)))
      (local.set $s (f32x4.splat (global.get $rstd)))
      (local.set $at (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $yr) (local.get $at))
          (f32x4.add
            (f32x4.mul
              (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $xr) (local.get $at))) (local.get $m)) (local.get $s))
              (v128.load (i32.add (local.get $w) (local.get $at))))
            (v128.load (i32.add (local.get $b) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vl)))
      (block $td (loop $tl
        (br_if $td (i32.ge_u (local.get $at) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $yr) (local.get $at))
          (f32.add
            (f32.mul
              (f32.mul (f32.sub (f32.load (i32.add (local.get $xr) (local.get $at))) (global.get $mean)) (global.get $rstd))
              (f32.load (i32.add (local.get $w) (local.get $at))))
            (f32.load (i32.add (local.get $b) (local.get $at)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows))))

  ;; dx = rstd (g - mean(g) - xhat mean(g xhat)) with g = dy * weight and xhat the normalised x;
  ;; dweight = sum over rows of dy * xhat, dbias = sum over rows of dy.
  (func (export "backward")
    (param $dy i32) (param $x i32) (param $w i32) (param $dx i32) (param $dw i32) (param $db i32)
    (param $N i32) (param $C i32) (param $eps f32)
    (local $r i32) (local $rowBytes i32) (local $vecEnd i32) (local $at i32)
    (local $xr i32) (local $dyr i32) (local $dxr i32)
    (local $m v128) (local $s v128) (local $xh v128) (local $d v128) (local $g v128)
    (local $sg v128) (local $sgx v128) (local $mg v128) (local $mgx v128)
    (local $xhs f32) (local $ds f32) (local $gs f32) (local $sumG f32) (local $sumGX f32)
    (local $meanG f32) (local $meanGX f32)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $C) (i32.const -4)) (i32.const 2)))
    (memory.fill (local.get $dw) (i32.const 0) (local.get $rowBytes))
    (memory.fill (local.get $db) (i32.const 0) (local.get $rowBytes))
    (block $rowsDone (loop $rows
      (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $N)))
      (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowBytes))))
      (local.set $dyr (i32.add (local.get $dy) (i32.mul (local.get $r) (local.get $rowBytes))))
      (local.set $dxr (i32.add (local.get $dx) (i32.mul (local.get $r) (local.get $rowBytes))))
      (call $rowStats (local.get $xr) (local.get $C) (local.get $eps))
      (local.set $m (f32x4.splat (global.get $mean)))
      (local.set $s (f32x4.splat (global.get $rstd)))
      ;; pass 1: the row's sums of g and g * xhat; dweight and dbias accumulate
      (local.set $sg (v128.const i32x4 0 0 0 0))
      (local.set $sgx (v128.const i32x4 0 0 0 0))
      (local.set $at (i32.const 0))
      (block $vd1 (loop $vl1
        (br_if $vd1 (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (local.set $xh (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $xr) (local.get $at))) (local.get $m)) (local.get $s)))
        (local.set $d (v128.load (i32.add (local.get $dyr) (local.get $at))))
        (local.set $g (f32x4.mul (local.get $d) (v128.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $sg (f32x4.add (local.get $sg) (local.get $g)))
        (local.set $sgx (f32x4.add (local.get $sgx) (f32x4.mul (local.get $g) (local.get $xh))))
        (v128.store (i32.add (local.get $dw) (local.get $at))
          (f32x4.add (v128.load (i32.add (local.get $dw) (local.get $at))) (f32x4.mul (local.get $d) (local.get $xh))))
        (v128.store (i32.add (local.get $db) (local.get $at))
          (f32x4.add (v128.load (i32.add (local.get $db) (local.get $at))) (local.get $d)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vl1)))
      (local.set $sumG (call $hsum (local.get $sg)))
      (local.set $sumGX (call $hsum (local.get $sgx)))
      (block $td1 (loop $tl1
        (br_if $td1 (i32.ge_u (local.get $at) (local.get $rowBytes)))
        (local.set $xhs (f32.mul (f32.sub (f32.load (i32.add (local.get $xr) (local.get $at))) (global.get $mean)) (global.get $rstd)))
        (local.set $ds (f32.load (i32.add (local.get $dyr) (local.get $at))))
        (local.set $gs (f32.mul (local.get $ds) (f32.load (i32.add (local.get $w) (local.get $at)))))
        (local.set $sumG (f32.add (local.get $sumG) (local.get $gs)))
        (local.set $sumGX (f32.add (local.get $sumGX) (f32.mul (local.get $gs) (local.get $xhs))))
        (f32.store (i32.add (local.get $dw) (local.get $at))
          (f32.add (f32.load (i32.add (local.get $dw) (local.get $at))) (f32.mul (local.get $ds) (local.get $xhs))))
        (f32.store (i32.add (local.get $db) (local.get $at))
          (f32.add (f32.load (i32.add (local.get $db) (local.get $at))) (local.get $ds)))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tl1)))
      (local.set $meanG (f32.div (local.get $sumG) (f32.convert_i32_u (local.get $C))))
      (local.set $meanGX (f32.div (local.get $sumGX) (f32.convert_i32_u (local.get $C))))
      (local.set $mg (f32x4.splat (local.get $meanG)))
      (local.set $mgx (f32x4.splat (local.get $meanGX)))
      ;; pass 2: dx
      (local.set $at (i32.const 0))
      (block $vd2 (loop $vl2
        (br_if $vd2 (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (local.set $xh (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $xr) (local.get $at))) (local.get $m)) (local.get $s)))
        (local.set $g
          (f32x4.mul (v128.load (i32.add (local.get $dyr) (local.get $at))) (v128.load (i32.add (local.get $w) (local.get $at)))))
        (v128.store (i32.add (local.get $dxr) (local.get $at))
          (f32x4.mul (local.get $s)
            (f32x4.sub (f32x4.sub (local.get $g) (local.get $mg)) (f32x4.mul (local.get $xh) (local.get $mgx)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vl2)))
      (block $td2 (loop $tl2
        (br_if $td2 (i32.ge_u (local.get $at) (local.get $rowBytes)))
        (local.set $xhs (f32.mul (f32.sub (f32.load (i32.add (local.get $xr) (local.get $at))) (global.get $mean)) (global.get $rstd)))
        (local.set $gs
          (f32.mul (f32.load (i32.add (local.get $dyr) (local.get $at))) (f32.load (i32.add (local.get $w) (local.get $at)))))
        (f32.store (i32.add (local.get $dxr) (local.get $at))
          (f32.mul (global.get $rstd)
            (f32.sub (f32.sub (local.get $gs) (local.get $meanG)) (f32.mul (local.get $xhs) (local.get $meanGX)))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tl2)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows)))))
