/**
 * Deterministic JSON for hashing: object keys sorted, so equal values serialise identically
 * whatever their key order. Keys holding `undefined` are dropped; `undefined` elsewhere (array
 * items, functions, the value itself) becomes `null`, and NaN / ±Infinity become the strings
 * "NaN" / "Infinity" / "-Infinity" so that they neither collide with `null` nor with each other.
 * The output feeds stage cache keys and checkpoint config hashes: changing it invalidates both.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return JSON.stringify(String(value));
  return JSON.stringify(value) ?? 'null';
}
