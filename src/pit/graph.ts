/**
 * The pipeline as a DAG of stages: pure structure and the runner that resolves keys, hits the
 * cache or runs a stage, and reports each node's status. Stages know nothing of the cache; the
 * runner knows nothing of what a stage computes (marimo's graph/runner split).
 *
 * Status of a node:  cached (artifact for its current key exists) · stale (inputs or config
 * changed since, so the key has no artifact) · running · failed · done (computed in this run).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type ArtifactStore, stageKey } from './cache';
import { CoreLoans, plannedOrder } from './schedule';

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
  /**
   * Cores the runner lends this stage now, beyond its `cores` (0 until it lends any; the count
   * only grows while the stage runs). See `StageDef.spareCores`.
   */
  lentCores?(): number;
}

export interface StageDef<C = unknown> {
  name: string;
  /** Input name → stage name. */
  deps: Record<string, string>;
  /**
   * The part of the run's config this stage reads: exactly what its cache key covers, so a change
   * elsewhere in the config keeps its artifact.
   */
  config(config: C): unknown;
  /** Files the stage writes into its artifact dir; the runner fails the stage if one is missing. */
  artifacts: readonly string[];
  /**
   * Estimated seconds of work on one core, from the config alone (default 1). Only ratios matter:
   * the runner plans its start order from them (`plannedOrder`, schedule.ts).
   */
  cost?(config: C): number;
  /**
   * Cores the stage keeps busy (default 1), e.g. 2 for a trainer with a gradient thread: the
   * runner counts them against `jobs`, so no other stage shares those cores meanwhile.
   */
  cores?(config: C): number;
  /**
   * Cores beyond `cores` the stage can put to work if they are lent mid-run (default 0), e.g. an
   * SFT stage's gradient threads, which change where gradients are computed, not what they are.
   * The runner lends a free core only when every stage still to start waits for this one, so the
   * loan delays nothing (`CoreLoans`, schedule.ts).
   */
  spareCores?(config: C): number;
  run(ctx: StageContext<C>): Promise<void>;
}

export interface GraphNode {
  name: string;
  deps: string[];
  key: string;
  status: StageStatus;
  seconds?: number;
  /** Peak resident memory of the stage's process in MB (when it ran in its own process). */
  peakRssMb?: number;
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

export interface GraphOptions<C = unknown> {
  store: ArtifactStore;
  seed: number;
  version: string;
  /** The run's config: every stage receives it whole, and its key covers `stage.config(config)`. */
  config: C;
  /** Where stages run (default: in this process). */
  execute?: StageExecutor<C>;
  /**
   * Cores to keep busy, for executors that run elsewhere (default 1): stages at once, each
   * counting its `cores`.
   */
  jobs?: number;
  onStatus?: (node: GraphNode) => void;
  onProgress?: (stage: string, fraction: number, detail?: string) => void;
}

/**
 * One stage's key: its name, `stage.config(config)`, the seed, the version and its inputs' keys
 * (by input name). The one place keys are made, for the graph and for notebook cells alike.
 */
export function nodeKey<C>(
  s: StageDef<C>,
  inputs: Record<string, string>,
  options: Pick<GraphOptions<C>, 'config' | 'seed' | 'version'>,
): string {
  const config = typeof s.config === 'function' ? s.config(options.config) : undefined;
  // A stage without a slice would key on nothing and reuse a stale artifact after any change.
  if (config === undefined) throw new Error(`Stage '${s.name}' declares no config slice`);
  return stageKey({ stage: s.name, config, seed: options.seed, version: options.version, inputs });
}

/** Keys of every stage under the given configs, without running anything. */
export function planGraph<C>(
  stages: readonly StageDef<C>[],
  options: GraphOptions<C>,
): GraphNode[] {
  const keys = new Map<string, string>();
  const byName = new Map(stages.map((s) => [s.name, s]));
  return topoOrder(stages).map((name) => {
    const s = byName.get(name)!;
    const inputs = Object.fromEntries(Object.entries(s.deps).map(([k, d]) => [k, keys.get(d)!]));
    const key = nodeKey(s, inputs, options);
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
 * How a stage's work is carried out: in this process (`inProcess`), or elsewhere (a worker
 * process, see `workers.ts`). `signal` aborts work still running when a sibling stage fails.
 */
export type StageExecutor<C = unknown> = (
  def: StageDef<C>,
  ctx: StageContext<C>,
  signal: AbortSignal,
) => Promise<StageUsage | undefined>;

/** What an executor measured of one stage. */
export interface StageUsage {
  /** Peak resident memory of the process that ran the stage, in MB. */
  peakRssMb?: number;
}

/** Runs stages in the calling process, one at a time. */
export async function inProcess<C>(def: StageDef<C>, ctx: StageContext<C>): Promise<undefined> {
  await def.run(ctx);
  return undefined;
}

/** What `runStage` needs besides the stage, its key and its inputs' directories. */
export type RunStageOptions<C> = Pick<GraphOptions<C>, 'store' | 'config' | 'seed'> & {
  execute?: StageExecutor<C>;
  signal?: AbortSignal;
  progress?: (fraction: number, detail?: string) => void;
  lentCores?: () => number;
};

/**
 * Runs one stage and publishes its artifact under `key` atomically, once every declared artifact
 * file exists (else it fails and nothing is published). `inputs`: each input's artifact directory.
 */
export async function runStage<C>(
  def: StageDef<C>,
  key: string,
  inputs: Record<string, string>,
  options: RunStageOptions<C>,
): Promise<StageUsage | undefined> {
  const { store } = options;
  let usage: StageUsage | undefined;
  await store.publish(def.name, key, async (outDir) => {
    const ctx: StageContext<C> = {
      config: options.config,
      seed: options.seed,
      inputs,
      outDir,
      workDir: store.workDir(def.name, key),
      progress: (f, d) => options.progress?.(f, d),
      lentCores: options.lentCores,
    };
    usage = await (options.execute ?? inProcess)(
      def,
      ctx,
      options.signal ?? new AbortController().signal,
    );
    const missing = def.artifacts.filter((f) => !existsSync(path.join(outDir, f)));
    if (missing.length > 0) {
      throw new Error(`stage '${def.name}' did not write its artifact ${missing.join(', ')}`);
    }
  });
  return usage;
}

/**
 * Runs the graph up to `targets` (default: all): each stage is a cache hit or runs once its inputs
 * exist. With `jobs` > 1 (and an executor that runs elsewhere) independent stages overlap; when
 * several are ready, they start in the order `plannedOrder` (schedule.ts) planned from the
 * stages' estimated seconds and cores. Returns every node with its final status and time.
 */
export async function runGraph<C>(
  stages: readonly StageDef<C>[],
  options: GraphOptions<C>,
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
  const execute: StageExecutor<C> = options.execute ?? inProcess;
  // In-process stages are synchronous compute: overlapping them would gain nothing.
  const jobs = execute === inProcess ? 1 : Math.max(1, Math.floor(options.jobs ?? 1));
  const coresOf = (name: string) =>
    Math.max(1, Math.floor(byName.get(name)!.cores?.(options.config) ?? 1));
  // The order is planned over the stages this run computes: an unrequested experiment or a
  // cached stage is no reason to hurry.
  const tasks = nodes
    .filter((n) => wanted.has(n.name) && n.status !== 'cached')
    .map((n) => ({
      name: n.name,
      deps: n.deps,
      cost: byName.get(n.name)!.cost?.(options.config) ?? 1,
      cores: coresOf(n.name),
    }));
  const rank = new Map(plannedOrder(tasks, jobs).map((name, i) => [name, i]));
  const loans = new CoreLoans(nodes, (name) => byName.get(name)!.spareCores?.(options.config) ?? 0);
  let busy = 0; // cores held by running stages, lent ones included
  const finished = new Set<string>();
  const pending = nodes.filter((n) => wanted.has(n.name));
  const running = new Map<string, Promise<void>>();
  const abort = new AbortController();
  let failure: unknown;

  const start = (node: GraphNode): Promise<void> => {
    const def = byName.get(node.name)!;
    const inputs = Object.fromEntries(
      Object.entries(def.deps).map(([k, d]) => [k, options.store.dir(d, nodeOf.get(d)!.key)]),
    );
    node.status = 'running';
    options.onStatus?.(node);
    const t0 = performance.now();
    return runStage(def, node.key, inputs, {
      ...options,
      execute,
      signal: abort.signal,
      progress: (f, d) => options.onProgress?.(node.name, f, d),
      lentCores: () => loans.of(node.name),
    })
      .then(
        (usage) => {
          if (usage?.peakRssMb !== undefined) node.peakRssMb = usage.peakRssMb;
          node.seconds = (performance.now() - t0) / 1000;
          node.status = 'done';
          finished.add(node.name);
          options.onStatus?.(node);
        },
        (err: unknown) => {
          node.seconds = (performance.now() - t0) / 1000;
          node.status = 'failed';
          node.error = (err as Error).message;
          failure ??= err;
          abort.abort(); // stop siblings: their checkpoints stay, so a rerun resumes them
          options.onStatus?.(node);
        },
      )
      .finally(() => running.delete(node.name));
  };

  while (failure === undefined && (pending.length > 0 || running.size > 0)) {
    for (let i = 0; i < pending.length; i++) {
      const node = pending[i]!;
      if (node.status === 'cached') {
        node.seconds = 0;
        finished.add(node.name);
        options.onStatus?.(node);
        pending.splice(i--, 1);
      }
    }
    const ready = pending
      .filter((n) => n.deps.every((d) => finished.has(d)))
      .sort((a, b) => rank.get(a.name)! - rank.get(b.name)!);
    for (const node of ready) {
      // a stage wanting more cores than the run has still starts, alone
      const want = Math.min(jobs, coresOf(node.name));
      if (busy + want > jobs) continue; // a later, smaller stage may fit the free cores
      busy += want;
      pending.splice(pending.indexOf(node), 1);
      running.set(
        node.name,
        start(node).finally(() => {
          busy -= want + loans.end(node.name);
        }),
      );
    }
    const byRank = [...running.keys()].sort((a, b) => rank.get(a)! - rank.get(b)!);
    busy += loans.lend(jobs - busy, byRank, pending);
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  await Promise.all(running.values()); // aborted siblings settle before the error surfaces
  if (failure !== undefined) throw failure;
  return nodes;
}
