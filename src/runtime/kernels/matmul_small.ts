/**
 * Batched matmul of many tiny matrices in plain JS, reading transposed operands in place.
 * XNNPACK pays a fixed cost per call (operator creation and weight packing, ~20 µs), so a batch
 * of 256 single-query attention products — one decode step of a 4-head model over 64 sequences —
 * cost ~5 ms per matmul through it, against ~0.4 ms for the dot-product loop here.
 */

/** Per-batch multiply-adds under which the JS loop beats per-batch XNNPACK calls (measured). */
export const SMALL_MACS = 8192;

/**
 * out[o] = op(A[ia[o]]) · op(B[ib[o]]) where op transposes when tA / tB; A is stored [*, m, k]
 * (or [*, k, m] when tA) and B [*, k, n] (or [*, n, k] when tB), all row-major.
 */
export function smallBatchMatMul(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  ia: readonly number[],
  ib: readonly number[],
  dims: { m: number; k: number; n: number; tA: boolean; tB: boolean },
): void {
  const { m, k, n, tA, tB } = dims;
  // Strides of A(i, p) and B(p, j) in elements.
  const [aI, aP] = tA ? [1, m] : [k, 1];
  const [bP, bJ] = tB ? [1, k] : [n, 1];
  for (let o = 0; o < ia.length; o++) {
    const aBase = ia[o]! * m * k;
    const bBase = ib[o]! * k * n;
    const oBase = o * m * n;
    if (tB) {
      // Dot-product order: B(., j) is contiguous.
      for (let i = 0; i < m; i++) {
        const ai = aBase + i * aI;
        for (let j = 0; j < n; j++) {
          const bj = bBase + j * bJ;
          let s = 0;
          for (let p = 0; p < k; p++) s += a[ai + p * aP]! * b[bj + p]!;
          out[oBase + i * n + j] = s;
        }
      }
    } else {
      // Row order: out(i, .) accumulates contiguous rows B(p, .).
      for (let i = 0; i < m; i++) {
        const row = oBase + i * n;
        out.fill(0, row, row + n);
        for (let p = 0; p < k; p++) {
          const aip = a[aBase + i * aI + p * aP]!;
          const bRow = bBase + p * bP;
          for (let j = 0; j < n; j++) out[row + j]! += aip * b[bRow + j]!;
        }
      }
    }
  }
}
