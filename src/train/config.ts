/** Trainer configuration: defaults merged with overrides, unknown keys and wrong types rejected by name. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../runtime/json';

/** A value a trainer config may hold: numbers, strings, booleans, and arrays or records of them. */
type Plain = number | string | boolean | null | Plain[] | { [key: string]: Plain };

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Fills `defaults` with `partial`, checking every key: unknown keys fail listing the known ones,
 * and a value whose type differs from its default's (number vs string, array vs scalar, ...)
 * fails naming the key, the expected type and the received value. Numbers must be finite.
 * `name` prefixes messages, e.g. "SftConfig". Keys whose default is `undefined` accept anything.
 */
export function resolveConfig<T extends object>(
  defaults: Readonly<T>,
  partial: Partial<T> = {},
  name = 'config',
): T {
  const known = Object.keys(defaults);
  for (const [key, value] of Object.entries(partial)) {
    if (!known.includes(key)) {
      throw new Error(`Unknown ${name} key '${key}'. Known keys: ${known.join(', ')}`);
    }
    if (value === undefined) continue;
    const expected = (defaults as Record<string, unknown>)[key];
    if (expected === undefined) continue;
    const want = kindOf(expected);
    const got = kindOf(value);
    if (want !== got) {
      throw new Error(
        `${name}.${key} must be a ${want} (default ${JSON.stringify(expected)}), got ${got} ${JSON.stringify(value)}`,
      );
    }
    if (got === 'number' && !Number.isFinite(value as number)) {
      throw new Error(`${name}.${key} must be a finite number, got ${value}`);
    }
  }
  const out = { ...defaults } as T;
  for (const [key, value] of Object.entries(partial)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** Throws `${name}.${key} must be ...` unless `ok`; for range checks after `resolveConfig`. */
export function checkConfig(ok: boolean, name: string, key: string, rule: string, value: unknown) {
  if (!ok) throw new Error(`${name}.${key} must be ${rule}, got ${JSON.stringify(value)}`);
}

/**
 * A short hash of everything that shapes a run's trajectory. Stored in checkpoints so that
 * resuming with a different config fails loudly instead of silently mixing two runs.
 */
export function configHash(config: object): string {
  return createHash('sha256')
    .update(canonicalJson(config as Plain))
    .digest('hex')
    .slice(0, 16);
}
