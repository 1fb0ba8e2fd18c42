/**
 * The hash that ties a trainer checkpoint to its config. Configs themselves are resolved and
 * checked with `runtime/validate.ts`, the one validator every layer shares.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../runtime/json';

/**
 * A short hash of everything that shapes a run's trajectory. Stored in checkpoints so that
 * resuming with a different config fails loudly instead of silently mixing two runs.
 */
export function configHash(config: object): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 16);
}
