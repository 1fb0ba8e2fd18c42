/**
 * The notebook's dependency graph: one node per live cell with what it defines and the free
 * names it reads. Edges are derived, never stored: cell B depends on cell A when B reads a name A
 * defines. Deriving them keeps the graph right when a definer is deleted, replaced or joined by
 * a second definer. Knows nothing of execution (the runner re-runs; marimo's graph/runner split).
 */
import type { CellAnalysis } from './analyze';

export interface CellNode {
  id: string;
  code: string;
  analysis: CellAnalysis;
  /** When the cell was first seen: the tie-break of dependency order (notebook order, mostly). */
  seq: number;
  /** An upstream cell ran since this one last ran. */
  stale: boolean;
  /** The request carried no cell id: the cell is this one execution, never re-run in place. */
  anonymous: boolean;
}

export interface Redefinition {
  name: string;
  cells: string[];
}

export class DataflowGraph {
  private readonly nodes = new Map<string, CellNode>();
  private seq = 0;

  get(id: string): CellNode | undefined {
    return this.nodes.get(id);
  }

  /** Live cells in the order they were first seen (a Map keeps a replaced key's place). */
  cells(): CellNode[] {
    return [...this.nodes.values()];
  }

  /** Cells other than `except` that define `name`. */
  definers(name: string, except?: string): string[] {
    return this.cells()
      .filter((c) => c.id !== except && c.analysis.defines.includes(name))
      .map((c) => c.id);
  }

  /** Names `analysis` (of cell `id`) reads from other live cells. */
  readsOf(id: string, analysis = this.nodes.get(id)?.analysis): string[] {
    // refs never hold the cell's own top-level names: those resolve inside the cell
    return analysis ? analysis.refs.filter((n) => this.definers(n, id).length > 0) : [];
  }

  /** The cells `id` reads from. */
  parents(id: string, analysis = this.nodes.get(id)?.analysis): string[] {
    const out = new Set<string>();
    for (const name of this.readsOf(id, analysis))
      for (const d of this.definers(name, id)) out.add(d);
    return [...out];
  }

  /** Cells other than `id` that read any of `names`. */
  readersOf(names: Iterable<string>, id: string): string[] {
    const wanted = new Set(names);
    return this.cells()
      .filter((c) => c.id !== id && c.analysis.refs.some((n) => wanted.has(n)))
      .map((c) => c.id);
  }

  /**
   * Every cell downstream of `id` through `names` (the names that changed), transitively. Past
   * the first step a cell's whole value set counts: re-running it may change all of it. Imports
   * do not: Node caches modules, so a re-run import is the same value.
   */
  dependents(id: string, names: Iterable<string>): string[] {
    const seen = new Set<string>([id]);
    const out: string[] = [];
    let frontier = this.readersOf(names, id);
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const c of frontier) {
        if (seen.has(c)) continue;
        seen.add(c);
        out.push(c);
        next.push(...this.readersOf(valueNames(this.nodes.get(c)!.analysis), c));
      }
      frontier = next;
    }
    return out;
  }

  /**
   * The cycle that cell `id` with `analysis` would close, as cell ids `[id, ..., id]`, or
   * undefined. A path from `id` down its readers back to a cell it reads from is a cycle.
   */
  cycleWith(id: string, analysis: CellAnalysis): string[] | undefined {
    const targets = new Set(this.parents(id, analysis));
    if (targets.size === 0) return undefined;
    const defines = (c: string) =>
      c === id ? analysis.defines : (this.nodes.get(c)?.analysis.defines ?? []);
    const path: string[] = [];
    const visited = new Set<string>();
    const walk = (c: string): boolean => {
      path.push(c);
      visited.add(c);
      if (c !== id && targets.has(c)) return true;
      for (const r of this.readersOf(defines(c), c))
        if (r !== id && !visited.has(r) && walk(r)) return true;
      path.pop();
      return false;
    };
    return walk(id) ? [...path, id] : undefined;
  }

  /**
   * Records (or replaces) cell `id`'s code and analysis. Returns the names whose value may have
   * changed: what it defines now (an import only when new or from elsewhere) and what it no
   * longer defines.
   */
  set(id: string, code: string, analysis: CellAnalysis, anonymous: boolean): string[] {
    const old = this.nodes.get(id);
    const changed = new Set(valueNames(analysis));
    for (const [name, origin] of Object.entries(analysis.imports))
      if (old?.analysis.imports[name] !== origin) changed.add(name);
    for (const name of old?.analysis.defines ?? [])
      if (!analysis.defines.includes(name)) changed.add(name);
    this.nodes.set(id, {
      id,
      code,
      analysis,
      seq: old?.seq ?? this.seq++,
      stale: false,
      anonymous,
    });
    return [...changed];
  }

  /** Removes cell `id`; returns the names it defined (now undefined in the graph). */
  remove(id: string): string[] {
    const node = this.nodes.get(id);
    this.nodes.delete(id);
    return node?.analysis.defines ?? [];
  }

  markStale(ids: Iterable<string>): void {
    for (const id of ids) {
      const node = this.nodes.get(id);
      if (node) node.stale = true;
    }
  }

  /** Names defined by `id` that another live cell defines too, with every definer. */
  redefinitions(id: string): Redefinition[] {
    const node = this.nodes.get(id);
    if (!node) return [];
    return node.analysis.defines
      .filter((name) => !sameImport(this, name))
      .map((name) => ({ name, cells: this.definers(name) }))
      .filter((r) => r.cells.length > 1);
  }

  /** `ids` in dependency order (definers before readers), ties by first appearance. */
  order(ids: string[]): string[] {
    const set = new Set(ids);
    const pending = this.cells().filter((c) => set.has(c.id));
    const done = new Set<string>();
    const out: string[] = [];
    while (pending.length > 0) {
      const i = pending.findIndex((c) =>
        this.parents(c.id).every((p) => !set.has(p) || done.has(p)),
      );
      // A cycle cannot be recorded (cycleWith refuses it), but never loop on one.
      const [next] = pending.splice(Math.max(0, i), 1);
      done.add(next!.id);
      out.push(next!.id);
    }
    return out;
  }
}

/** What a cell defines minus its imports (a re-run import yields the same module). */
export function valueNames(analysis: CellAnalysis): string[] {
  return analysis.defines.filter((n) => !(n in analysis.imports));
}

/** Every live definer of `name` imports the very same binding: one value, no conflict. */
function sameImport(graph: DataflowGraph, name: string): boolean {
  const origins = new Set(graph.definers(name).map((c) => graph.get(c)?.analysis.imports[name]));
  return origins.size === 1 && !origins.has(undefined);
}
