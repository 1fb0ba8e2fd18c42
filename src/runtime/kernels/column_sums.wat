;; Column sums of a row-major [rows, cols] float32 matrix with 128-bit SIMD: every bias and
;; LayerNorm gradient is such a sum. Compiled by scripts/build-wasm.ts into column_sums_wasm.ts;
;; it runs on the tfjs wasm backend's own memory.
;;
;; Each column is accumulated in row order in float32, as the JS loop it replaces did, so the
;; sums are the same floats.
(module
  (import "env" "memory" (memory 0))

  ;; dst[c] = Σ_r src[r·cols + c] for c < cols; dst must not overlap src.
  (func (export "columnSums") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $rowBytes i32) (local $vecBytes i32) (local $colBytes i32)
    (local $row i32) (local $at i32) (local $end i32)
    (local.set $colBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $vecBytes (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2)))
    ;; The first row is copied, so a single row sums to itself.
    (memory.copy (local.get $dst) (local.get $src) (local.get $colBytes))
    (local.set $row (i32.const 1))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $rowBytes (i32.add (local.get $src) (i32.mul (local.get $row) (local.get $colBytes))))
        (local.set $at (i32.const 0))
        (block $vecDone
          (loop $vec
            (br_if $vecDone (i32.ge_u (local.get $at) (local.get $vecBytes)))
            (v128.store (i32.add (local.get $dst) (local.get $at))
              (f32x4.add
                (v128.load (i32.add (local.get $dst) (local.get $at)))
                (v128.load (i32.add (local.get $rowBytes) (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 16)))
            (br $vec)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $at) (local.get $colBytes)))
            (f32.store (i32.add (local.get $dst) (local.get $at))
              (f32.add
                (f32.load (i32.add (local.get $dst) (local.get $at)))
                (f32.load (i32.add (local.get $rowBytes) (local.get $at)))))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (br $tail)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop)))))
