/** The scripts' view of the stage cache: they read cached stages and train only what they measure. */
import path from 'node:path';
import { type Profile, pipelineGraph } from '../src/index';

/** Artifact dirs of `names`, which must already be cached (a script trains nothing else). */
export function cachedStages(
  options: { profile: Profile; seed: number; cacheDir: string },
  names: string[],
): Record<string, string> {
  const nodes = pipelineGraph(options);
  const dirs: Record<string, string> = {};
  for (const name of names) {
    const node = nodes.find((n) => n.name === name)!;
    if (node.status !== 'cached') {
      throw new Error(
        `stage '${name}' is not cached for this profile and seed: run pitlab run first`,
      );
    }
    dirs[name] = path.join(options.cacheDir, name, node.key);
  }
  return dirs;
}
