/**
 * The order in which a run starts ready stages, planned before it starts from each stage's
 * estimated seconds (`StageDef.cost`) and cores (`StageDef.cores`).
 *
 * The runner's rule is list scheduling: whenever cores are free, start the ready stages in
 * priority order, each that fits. The usual priority, the longest chain of estimated seconds
 * below a stage (HLFET), is not the best one here: a short stage that unlocks two others (R_P
 * before RLHF and R_PIT) waits behind a long one that unlocks one. So `plannedOrder` starts from
 * that priority and keeps every swap of two stages that shortens the run, replaying the rule
 * with the estimates, until no swap does. The graph is a few dozen stages: replays take
 * milliseconds.
 *
 * While a run goes on, `CoreLoans` lends the cores no stage can use to a running stage that can
 * put them to work (`StageDef.spareCores`).
 */

export interface Task {
  name: string;
  /** Names of the tasks it waits for (names outside the list count as done). */
  deps: readonly string[];
  /** Estimated seconds. */
  cost: number;
  /** Cores it keeps busy (at most `jobs` are counted). */
  cores: number;
}

/** Each task's cost plus the costliest chain of its dependants (tasks in topological order). */
export function chainCosts(
  tasks: readonly Pick<Task, 'name' | 'deps'>[],
  cost: (name: string) => number,
): Map<string, number> {
  const chain = new Map<string, number>();
  for (const task of [...tasks].reverse()) {
    const below = tasks.filter((t) => t.deps.includes(task.name)).map((t) => chain.get(t.name)!);
    chain.set(task.name, cost(task.name) + Math.max(0, ...below));
  }
  return chain;
}

/**
 * Seconds until every task is done when ready tasks start in `order` (earlier first) on `jobs`
 * cores, as the runner starts them: at each finish, every ready task that fits, in order.
 */
export function simulatedSeconds(
  tasks: readonly Task[],
  order: readonly string[],
  jobs: number,
): number {
  const rank = new Map(order.map((name, i) => [name, i]));
  const known = new Set(tasks.map((t) => t.name));
  const pending = [...tasks].sort((a, b) => rank.get(a.name)! - rank.get(b.name)!);
  const finished = new Set<string>();
  let running: Array<{ name: string; end: number; cores: number }> = [];
  let now = 0;
  let busy = 0;
  while (pending.length > 0 || running.length > 0) {
    for (let i = 0; i < pending.length; i++) {
      const task = pending[i]!;
      if (!task.deps.every((d) => finished.has(d) || !known.has(d))) continue;
      const cores = Math.min(jobs, Math.max(1, task.cores));
      if (busy + cores > jobs) continue;
      busy += cores;
      running.push({ name: task.name, end: now + task.cost, cores });
      pending.splice(i--, 1);
    }
    if (running.length === 0) break; // a dependency that never finishes
    now = Math.min(...running.map((r) => r.end));
    for (const r of running.filter((r) => r.end <= now)) {
      finished.add(r.name);
      busy -= r.cores;
    }
    running = running.filter((r) => r.end > now);
  }
  return now;
}

/**
 * A start order for `tasks` (given in topological order): the longest-chain order, improved by
 * swapping pairs while the simulated run gets shorter. Deterministic; never longer than the
 * longest-chain order under the estimates.
 */
export function plannedOrder(tasks: readonly Task[], jobs: number): string[] {
  const costOf = new Map(tasks.map((t) => [t.name, t.cost]));
  const chain = chainCosts(tasks, (name) => costOf.get(name)!);
  // longest chain first; ties keep the tasks' own order (Array.prototype.sort is stable)
  const order = tasks.map((t) => t.name).sort((a, b) => chain.get(b)! - chain.get(a)!);
  let best = simulatedSeconds(tasks, order, jobs);
  for (let improved = true; improved; ) {
    improved = false;
    for (let i = 0; i < order.length; i++) {
      for (let j = i + 1; j < order.length; j++) {
        [order[i], order[j]] = [order[j]!, order[i]!];
        const seconds = simulatedSeconds(tasks, order, jobs);
        // a swap must win by more than float noise, or two equal orders could cycle
        if (seconds < best - 1e-9) {
          best = seconds;
          improved = true;
        } else {
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
    }
  }
  return order;
}

/**
 * Cores lent to running stages beyond their own (`StageDef.spareCores`). A free core is lent only
 * when every stage still to start waits for the borrower: none could start before the borrower
 * ends, so the core would idle otherwise and the loan delays nothing. A loan lasts until the
 * borrower ends (the runner never takes a core back mid-step).
 */
export class CoreLoans {
  private readonly lent = new Map<string, number>();
  /** Each stage's transitive dependencies. */
  private readonly ancestors = new Map<string, Set<string>>();

  constructor(
    stages: readonly Pick<Task, 'name' | 'deps'>[],
    private readonly spare: (name: string) => number,
  ) {
    for (const n of stages) {
      const set = new Set<string>();
      for (const d of n.deps) {
        set.add(d);
        for (const a of this.ancestors.get(d) ?? []) set.add(a);
      }
      this.ancestors.set(n.name, set); // stages come in topological order
    }
  }

  /** Cores lent to `name` now. */
  of(name: string): number {
    return this.lent.get(name) ?? 0;
  }

  /** Lends up to `free` cores to `running` stages (by priority); returns how many it lent. */
  lend(free: number, running: readonly string[], pending: readonly { name: string }[]): number {
    let given = 0;
    for (const name of running) {
      const room = Math.floor(this.spare(name)) - this.of(name);
      if (given >= free || room <= 0) continue;
      if (!pending.every((n) => this.ancestors.get(n.name)?.has(name))) continue;
      const n = Math.min(room, free - given);
      this.lent.set(name, this.of(name) + n);
      given += n;
    }
    return given;
  }

  /** The borrower ended: returns the cores it was lent. */
  end(name: string): number {
    const n = this.of(name);
    this.lent.delete(name);
    return n;
  }
}
