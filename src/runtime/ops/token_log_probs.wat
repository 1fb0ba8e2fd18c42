;; Token log-probabilities (log-softmax picked at a target), the row passes of the forward and
;; the whole backward, with 128-bit SIMD. Compiled by scripts/build-wasm.ts into
;; token_log_probs_wasm.ts; it runs on the tfjs wasm backend's own memory.
;;
;; x and dx are [N, V] row-major; targets, dy and lse are [N] (targets as float32 ids, already
;; checked to lie in [0, V)). WebAssembly has no log, so the forward leaves each row's max and
;; sum of exp(x - max) for the caller to finish in JS. Columns past the last multiple of 4 run
;; one by one through lane 0.
(module
  (import "env" "memory" (memory 0))

  ;; include: exp.wat

  (func $hmax (param $v v128) (result f32)
    (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.max (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; The max of the row of V floats at byte offset $row.
  (func $rowMax (param $row i32) (param $V i32) (result f32)
    (local $at i32) (local $vecEnd i32) (local $end i32) (local $acc v128) (local $m f32)
    (local.set $end (i32.shl (local.get $V) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $V) (i32.const -4)) (i32.const 2)))
    (local.set $acc (f32x4.splat (f32.const -inf)))
    (block $vd (loop $vl
      (br_if $vd (i32.ge_u (local.get $at) (local.get $vecEnd)))
      (local.set $acc (f32x4.max (local.get $acc) (v128.load (i32.add (local.get $row) (local.get $at)))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $vl)))
    (local.set $m (call $hmax (local.get $acc)))
    (block $td (loop $tl
      (br_if $td (i32.ge_u (local.get $at) (local.get $end)))
      (local.set $m (f32.max (local.get $m) (f32.load (i32.add (local.get $row) (local.get $at)))))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br $tl)))
    (local.get $m))

  ;; The sum of exp(x - $m) over the row at byte offset $row ($m is its max, so exp sees x <= 0);
  ;; the sum of exp(x - $m)·x, from which the caller gets the row's entropy, goes to $wsumAt.
  (func $rowSumExp (param $row i32) (param $V i32) (param $m f32) (param $wsumAt i32) (result f32)
    (local $at i32) (local $vecEnd i32) (local $end i32) (local $acc v128) (local $wacc v128)
    (local $mv v128) (local $xv v128) (local $e v128) (local $s f32) (local $w f32) (local $x f32)
    (local $ex f32)
    (local.set $end (i32.shl (local.get $V) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $V) (i32.const -4)) (i32.const 2)))
    (local.set $mv (f32x4.splat (local.get $m)))
    (block $vd (loop $vl
      (br_if $vd (i32.ge_u (local.get $at) (local.get $vecEnd)))
      (local.set $xv (v128.load (i32.add (local.get $row) (local.get $at))))
      (local.set $e (call $exp (f32x4.sub (local.get $xv) (local.get $mv))))
      (local.set $acc (f32x4.add (local.get $acc) (local.get $e)))
      (local.set $wacc (f32x4.add (local.get $wacc) (f32x4.mul (local.get $e) (local.get $xv))))
      (local.set $at (i32.add (local.get $at) (i32.const 16)))
      (br $vl)))
    (local.set $s (call $hsum (local.get $acc)))
    (local.set $w (call $hsum (local.get $wacc)))
    (block $td (loop $tl
      (br_if $td (i32.ge_u (local.get $at) (local.get $end)))
      (local.set $x (f32.load (i32.add (local.get $row) (local.get $at))))
      (local.set $ex
        (f32x4.extract_lane 0 (call $exp (f32x4.splat (f32.sub (local.get $x) (local.get $m))))))
      (local.set $s (f32.add (local.get $s) (local.get $ex)))
      (local.set $w (f32.add (local.get $w) (f32.mul (local.get $ex) (local.get $x))))
      (local.set $at (i32.add (local.get $at) (i32.const 4)))
      (br $tl)))
    (f32.store (local.get $wsumAt) (local.get $w))
    (local.get $s))

  ;; For each row r of x: max[r] = max_j x[r, j], sum[r] = sum_j exp(x[r, j] - max[r]) and
  ;; wsum[r] = sum_j exp(x[r, j] - max[r]) x[r, j].
  (func (export "forward")
    (param $x i32) (param $max i32) (param $sum i32) (param $wsum i32) (param $N i32) (param $V i32)
    (local $r i32) (local $row i32) (local $m f32)
    (local.set $row (local.get $x))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $r) (local.get $N)))
      (local.set $m (call $rowMax (local.get $row) (local.get $V)))
      (f32.store (i32.add (local.get $max) (i32.shl (local.get $r) (i32.const 2))) (local.get $m))
      (f32.store (i32.add (local.get $sum) (i32.shl (local.get $r) (i32.const 2)))
        (call $rowSumExp (local.get $row) (local.get $V) (local.get $m)
          (i32.add (local.get $wsum) (i32.shl (local.get $r) (i32.const 2)))))
      (local.set $row (i32.add (local.get $row) (i32.shl (local.get $V) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows))))

  ;; dx[r, j] = dy[r] (onehot(r, j) - exp(x[r, j] - lse[r])), where lse[r] >= max of row r.
  (func (export "backward")
    (param $dy i32) (param $x i32) (param $targets i32) (param $lse i32) (param $dx i32)
    (param $N i32) (param $V i32)
    (local $r i32) (local $at i32) (local $rowBytes i32) (local $vecEnd i32)
    (local $xr i32) (local $dxr i32) (local $d f32) (local $l f32) (local $t i32)
    (local $dv v128) (local $lv v128)
    (local.set $rowBytes (i32.shl (local.get $V) (i32.const 2)))
    (local.set $vecEnd (i32.shl (i32.and (local.get $V) (i32.const -4)) (i32.const 2)))
    (local.set $xr (local.get $x))
    (local.set $dxr (local.get $dx))
    (block $done (loop $rows
      (br_if $done (i32.ge_u (local.get $r) (local.get $N)))
      (local.set $d (f32.neg (f32.load (i32.add (local.get $dy) (i32.shl (local.get $r) (i32.const 2))))))
      (local.set $l (f32.load (i32.add (local.get $lse) (i32.shl (local.get $r) (i32.const 2)))))
      (local.set $dv (f32x4.splat (local.get $d)))
      (local.set $lv (f32x4.splat (local.get $l)))
      (local.set $at (i32.const 0))
      (block $vd (loop $vl
        (br_if $vd (i32.ge_u (local.get $at) (local.get $vecEnd)))
        (v128.store (i32.add (local.get $dxr) (local.get $at))
          (f32x4.mul (local.get $dv)
            (call $exp (f32x4.sub (v128.load (i32.add (local.get $xr) (local.get $at))) (local.get $lv)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vl)))
      (block $td (loop $tl
        (br_if $td (i32.ge_u (local.get $at) (local.get $rowBytes)))
        (f32.store (i32.add (local.get $dxr) (local.get $at))
          (f32.mul (local.get $d)
            (f32x4.extract_lane 0
              (call $exp (f32x4.splat (f32.sub (f32.load (i32.add (local.get $xr) (local.get $at))) (local.get $l)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tl)))
      ;; the one-hot term: dx[r, t] += dy[r], i.e. -= $d (an id outside [0, V) never reaches here
      ;; from JS; the bound only keeps a stray one from writing past the row)
      (local.set $t
        (i32.trunc_sat_f32_u (f32.load (i32.add (local.get $targets) (i32.shl (local.get $r) (i32.const 2))))))
      (if (i32.lt_u (local.get $t) (local.get $V))
        (then
          (local.set $t (i32.add (local.get $dxr) (i32.shl (local.get $t) (i32.const 2))))
          (f32.store (local.get $t) (f32.sub (f32.load (local.get $t)) (local.get $d)))))
      (local.set $xr (i32.add (local.get $xr) (local.get $rowBytes)))
      (local.set $dxr (i32.add (local.get $dxr) (local.get $rowBytes)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows)))))
