/**
 * The scripts' view of the stage cache: they read cached stages and train only what they measure.
 * `PITLAB_CONFIG` (JSON, as `pitlab run --config` takes) picks the stages of an overridden run.
 */
import path from 'node:path';
import { type Profile, pipelineGraph } from '../src/index';

/** The overrides in PITLAB_CONFIG, or none. */
export function configOverrides(env: NodeJS.ProcessEnv = process.env): object {
  const text = env.PITLAB_CONFIG;
  if (!text) return {};
  try {
    return JSON.parse(text) as object;
  } catch (e) {
    throw new Error(`PITLAB_CONFIG: expected JSON, got '${text}' (${(e as Error).message})`);
  }
}

/** Artifact dirs of `names`, which must already be cached (a script trains nothing else). */
export function cachedStages(
  options: { profile: Profile; seed: number; cacheDir: string },
  names: string[],
): Record<string, string> {
  const nodes = pipelineGraph({ ...options, overrides: configOverrides() });
  const dirs: Record<string, string> = {};
  for (const name of names) {
    const node = nodes.find((n) => n.name === name)!;
    if (node.status !== 'cached') {
      throw new Error(
        `stage '${name}' is not cached for this profile, seed and PITLAB_CONFIG: run pitlab run first`,
      );
    }
    dirs[name] = path.join(options.cacheDir, name, node.key);
  }
  return dirs;
}
