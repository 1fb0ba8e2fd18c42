/**
 * The one way settings are checked. Every error names the dotted path of the setting, what it
 * must be and the value it got, e.g. `SftConfig.maxSteps must be a positive integer, got -1` or
 * `config.sft.maxSteps must be a number, got "x"`; an unknown key lists the known ones:
 * `Unknown config.sft key 'stpes'. Known: maxSteps, batchSize, ...`. Imports nothing, so every
 * layer (models, train, pit) can use it.
 */

/** A value's kind as errors name it: 'number', 'string', 'boolean', 'null', 'array', 'object', ... */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A value as errors show it: JSON (strings quoted), with NaN, ±Infinity and undefined spelled out. */
export function show(value: unknown): string {
  if (typeof value === 'number' || value === undefined) return String(value);
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // cyclic or otherwise unserialisable: fall back to its kind
  }
  text ??= kindOf(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

const withArticle = (kind: string) => (/^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`);

/** Throws `${path} must be ${rule}, got ${value}` unless `ok`. */
export function check(ok: boolean, path: string, rule: string, value: unknown): void {
  if (!ok) throw new Error(`${path} must be ${rule}, got ${show(value)}`);
}

export function checkPositiveInt(path: string, value: unknown): void {
  check(Number.isInteger(value) && (value as number) >= 1, path, 'a positive integer', value);
}

export function checkNonNegativeInt(path: string, value: unknown): void {
  check(Number.isInteger(value) && (value as number) >= 0, path, 'a non-negative integer', value);
}

/** A finite number ≥ 0 (NaN and Infinity fail). */
export function checkNonNegative(path: string, value: unknown): void {
  check(Number.isFinite(value) && (value as number) >= 0, path, 'a finite number ≥ 0', value);
}

export function checkOneOf(path: string, value: unknown, allowed: readonly unknown[]): void {
  check(allowed.includes(value), path, `one of ${allowed.join(', ')}`, value);
}

/** Throws `Unknown ${path} key 'k'. Known: ...` for the first key of `keys` not in `known`. */
export function checkKnownKeys(keys: readonly string[], known: readonly string[], path: string) {
  const unknown = keys.find((k) => !known.includes(k));
  if (unknown !== undefined) {
    throw new Error(`Unknown ${path} key '${unknown}'. Known: ${known.join(', ')}`);
  }
}

/**
 * Checks that `value` has the kind of `example` (number, string, array, ...); numbers must be
 * finite. An `undefined` example accepts anything.
 */
export function checkKind(path: string, value: unknown, example: unknown): void {
  if (example === undefined) return;
  const want = kindOf(example);
  check(kindOf(value) === want, path, withArticle(want), value);
  if (want === 'number') check(Number.isFinite(value), path, 'a finite number', value);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * `defaults` filled with `partial` (one level: an object value replaces the default whole).
 * Unknown keys and values of another kind than their default fail; `undefined` values keep the
 * default, and a key whose default is `undefined` accepts anything. `path` prefixes messages, e.g. 'SftConfig'. Range rules follow with `check*`.
 */
export function resolveConfig<T extends object>(
  defaults: Readonly<T>,
  partial: Partial<T> = {},
  path = 'config',
): T {
  checkKind(path, partial, {});
  checkKnownKeys(Object.keys(partial), Object.keys(defaults), path);
  const entries = Object.entries(partial).filter(([, v]) => v !== undefined);
  for (const [key, value] of entries) {
    checkKind(`${path}.${key}`, value, (defaults as Record<string, unknown>)[key]);
  }
  return { ...defaults, ...Object.fromEntries(entries) } as T;
}

/**
 * `patch` merged over a copy of `base` at any depth, as a user's overrides apply: at each depth
 * the keys must be those of `shape` (whose values give each key's kind; a plain-object value
 * means "merge key by key, with this shape"), and anything that is not an object replaces.
 */
export function mergeConfig<T extends object>(
  base: T,
  patch: unknown,
  shape: object,
  path = 'config',
): T {
  checkKind(path, patch, {});
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  const known = shape as Record<string, unknown>;
  const entries = Object.entries(patch as Record<string, unknown>);
  checkKnownKeys(
    entries.map(([key]) => key),
    Object.keys(known),
    path,
  );
  for (const [key, value] of entries) {
    const at = `${path}.${key}`;
    const inner = known[key];
    if (isRecord(inner)) {
      const current = out[key];
      out[key] = mergeConfig(isRecord(current) ? current : {}, value, inner, at);
    } else {
      checkKind(at, value, inner);
      out[key] = structuredClone(value);
    }
  }
  return out as T;
}
