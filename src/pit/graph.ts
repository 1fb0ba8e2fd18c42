/**
 * The pipeline as a DAG of stages: pure structure and the runner that resolves keys, hits the
 * cache or runs a stage, and reports each node's status. Stages know nothing of the cache; the
 * runner knows nothing of what a stage computes (marimo's graph/runner split).
 *
 * Status of a node:  cached (artifact for its current key exists) · stale (inputs or config
 * changed since, so the key has no artifact) · running · failed · done (computed in this run).
 */
import { type ArtifactStore, stageKey } from './cache';

export type StageStatus = 'cached' | 'stale' | 'running' | 'failed' | 'done';

export interface StageContext<C> {
  config: C;
  seed: number;
  /** Directory of each input's artifact, by input name. */
  inputs: Record<string, string>;
  /** Where this stage writes its artifact (a temp dir published atomically). */
  outDir: string;
  /** Stable scratch dir for this key: trainer checkpoints live here, so a rerun resumes. */
  workDir: string;
  progress(fraction: number, detail?: string): void;
}

export interface StageDef<C = unknown> {
  name: string;
  /** Input name → stage name. */
  deps: Record<string, string>;
  run(ctx: StageContext<C>): Promise<void>;
}

export interface GraphNode {
  name: string;
  deps: string[];
  key: string;
  status: StageStatus;
  seconds?: number;
  error?: string;
}

/** Topological order (Kahn); throws naming the stages of a cycle or an unknown dependency. */
export function topoOrder(stages: readonly StageDef[]): string[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const indegree = new Map(stages.map((s) => [s.name, 0]));
  for (const s of stages) {
    for (const dep of Object.values(s.deps)) {
      if (!byName.has(dep)) throw new Error(`Stage '${s.name}' depends on unknown stage '${dep}'`);
      indegree.set(s.name, indegree.get(s.name)! + 1);
    }
  }
  const ready = stages.filter((s) => indegree.get(s.name) === 0).map((s) => s.name);
  const order: string[] = [];
  while (ready.length > 0) {
    const name = ready.shift()!;
    order.push(name);
    for (const s of stages) {
      const uses = Object.values(s.deps).filter((d) => d === name).length;
      if (uses === 0) continue;
      indegree.set(s.name, indegree.get(s.name)! - uses);
      if (indegree.get(s.name) === 0) ready.push(s.name);
    }
  }
  if (order.length !== stages.length) {
    const cyclic = stages.map((s) => s.name).filter((n) => !order.includes(n));
    throw new Error(`Stage graph has a cycle through: ${cyclic.join(', ')}`);
  }
  return order;
}

export interface GraphOptions {
  store: ArtifactStore;
  seed: number;
  version: string;
  /** Config of each stage, by stage name: exactly what its key covers. */
  configs: Record<string, unknown>;
  /**
   * What stages receive as `ctx.config` (default: their entry in `configs`). Pass the whole
   * pipeline config when `configs` holds only the sections each stage depends on.
   */
  runConfig?: unknown;
  onStatus?: (node: GraphNode) => void;
  onProgress?: (stage: string, fraction: number, detail?: string) => void;
}

/** Keys of every stage under the given configs, without running anything. */
export function planGraph(stages: readonly StageDef[], options: GraphOptions): GraphNode[] {
  const keys = new Map<string, string>();
  const byName = new Map(stages.map((s) => [s.name, s]));
  return topoOrder(stages).map((name) => {
    const s = byName.get(name)!;
    const inputs = Object.fromEntries(Object.entries(s.deps).map(([k, d]) => [k, keys.get(d)!]));
    const key = stageKey({
      stage: name,
      config: options.configs[name] ?? null,
      seed: options.seed,
      version: options.version,
      inputs,
    });
    keys.set(name, key);
    return {
      name,
      deps: Object.values(s.deps),
      key,
      status: options.store.has(name, key) ? 'cached' : 'stale',
    };
  });
}

/**
 * Runs the graph up to `targets` (default: all): each stage is a cache hit or runs once its inputs
 * exist. Returns every node with its final status and time.
 */
export async function runGraph(
  stages: readonly StageDef[],
  options: GraphOptions,
  targets?: string[],
): Promise<GraphNode[]> {
  const nodes = planGraph(stages, options);
  const byName = new Map(stages.map((s) => [s.name, s]));
  const nodeOf = new Map(nodes.map((n) => [n.name, n]));
  const wanted = new Set<string>();
  const want = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const d of nodeOf.get(name)!.deps) want(d);
  };
  for (const t of targets ?? nodes.map((n) => n.name)) {
    if (!nodeOf.has(t))
      throw new Error(`Unknown stage '${t}'. Stages: ${nodes.map((n) => n.name).join(', ')}`);
    want(t);
  }
  for (const node of nodes) {
    if (!wanted.has(node.name)) continue;
    if (node.status === 'cached') {
      node.seconds = 0;
      options.onStatus?.(node);
      continue;
    }
    const def = byName.get(node.name)!;
    const inputs = Object.fromEntries(
      Object.entries(def.deps).map(([k, d]) => [k, options.store.dir(d, nodeOf.get(d)!.key)]),
    );
    node.status = 'running';
    options.onStatus?.(node);
    const t0 = performance.now();
    try {
      await options.store.publish(node.name, node.key, (outDir) =>
        def.run({
          config: options.runConfig ?? options.configs[node.name],
          seed: options.seed,
          inputs,
          outDir,
          workDir: options.store.workDir(node.name, node.key),
          progress: (f, d) => options.onProgress?.(node.name, f, d),
        }),
      );
      node.status = 'done';
    } catch (err) {
      node.status = 'failed';
      node.error = (err as Error).message;
      options.onStatus?.(node);
      throw err;
    } finally {
      node.seconds = (performance.now() - t0) / 1000;
    }
    options.onStatus?.(node);
  }
  return nodes;
}
