/**
 * The scripts' view of the stage cache: they read cached stages and train only what they measure.
 * `PITLAB_CONFIG` (JSON, as `pitlab run --config` takes) picks the stages of an overridden run.
 */
import path from 'node:path';
import { notebookSettings, type Profile, pipelineGraph, resolvePipelineConfig } from '../src/index';
import { readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';

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

/**
 * What a script starts from: the notebook settings (PITLAB_PROFILE, PITLAB_SEED, PITLAB_CACHE), the
 * config with PITLAB_CONFIG's overrides, a ready runtime seeded with the seed, the dirs of the
 * tokenizer and of `names`, and the tokenizer and splits.
 */
export async function openCachedRun(names: string[]) {
  const { profile, seed, cacheDir } = notebookSettings();
  const config = resolvePipelineConfig(profile, configOverrides());
  await runtime.ready();
  const dirs = cachedStages({ profile, seed, cacheDir }, ['tokenizer', ...names]);
  runtime.seed(seed);
  const tok = readTokenizer(dirs.tokenizer!);
  return { profile, seed, config, dirs, tok, splits: readSplits(dirs.tokenizer!) };
}
