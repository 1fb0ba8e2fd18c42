/** Confidence intervals for a proportion (e.g. a reward model's accuracy on n held-out pairs). */

/**
 * Wilson score interval for k successes in n trials at 95% (z = 1.96). Unlike the normal
 * approximation it stays inside [0, 1] and is usable near 0 or 1 and for small n.
 */
export function wilsonInterval(k: number, n: number, z = 1.96): [number, number] {
  if (!(Number.isInteger(n) && n > 0) || !(k >= 0 && k <= n)) {
    throw new Error(`wilsonInterval: need 0 ≤ k ≤ n and n a positive integer, got k=${k}, n=${n}`);
  }
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** The Wilson interval of an observed fraction `p` of `n` (k = round(p·n)). */
export function fractionCi95(p: number, n: number): [number, number] {
  return wilsonInterval(Math.round(p * n), n);
}
