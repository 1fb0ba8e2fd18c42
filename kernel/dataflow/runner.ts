/**
 * The dataflow runner: around each execute_request it updates the graph, marks the cells
 * downstream of the one that ran as stale (lazy mode) or re-runs them in dependency order
 * (auto mode), and says what it did in the reply's metadata and in short notes under the cell.
 * The graph and the analysis know nothing of execution; this module knows nothing of sockets.
 */
import type { CellOutcome } from '../executor';
import type { OutputSink } from '../output';
import type { MimeBundle } from '../protocol';
import { analyzeCell, type CellAnalysis } from './analyze';
import { DataflowGraph, type Redefinition } from './graph';
import { type Publish, SlotSink, type SlotState } from './slots';
import {
  cycleError,
  deletedNote,
  errorBundle,
  failedNote,
  redefinedNote,
  rerunNote,
  staleNote,
} from './view';

export type Mode = 'lazy' | 'auto' | 'off';
export const MODES: readonly Mode[] = ['lazy', 'auto', 'off'];

/** `metadata.dataflow` of every execute_reply. */
export interface DataflowMeta {
  mode: Mode;
  cell: string;
  defines: string[];
  reads: string[];
  /** Cells downstream of this one that now hold out-of-date values. */
  stale: string[];
  /** Cells the kernel re-ran (auto mode), in the order it ran them. */
  rerun: string[];
  redefined: Redefinition[];
  /** Cells that `metadata.deletedCells` removed from the graph with this request. */
  deleted: string[];
  cycle?: string[];
  failed?: { cell: string; ename: string; evalue: string };
}

/** What the runner needs from the kernel: run code into a sink, turn a value into a bundle. */
export interface RunnerHost {
  run(code: string, sink: OutputSink): Promise<CellOutcome>;
  bundle(value: unknown, sink: OutputSink): MimeBundle;
}

/** One execute_request as the runner sees it, from `begin` to `end`. */
export interface Execution {
  cell: string;
  /** No `cellId` in the request: this execution is its own cell. */
  anonymous: boolean;
  tracked: boolean;
  code: string;
  analysis?: CellAnalysis;
  deleted: string[];
  /** Cells that read what the deleted cells defined. */
  orphans: string[];
  cycle?: string[];
}

export class DataflowRunner {
  mode: Mode = 'lazy';
  readonly graph = new DataflowGraph();
  private readonly slots = new Map<string, SlotState>();
  private readonly aliases = new Map<string, string>();

  constructor(private readonly host: RunnerHost) {}

  /**
   * Before the cell runs: cells named in `metadata.deletedCells` leave the graph, and the cell's
   * code is analysed and checked for a cycle (a cycle refuses the cell).
   */
  begin(
    metadata: Record<string, unknown>,
    code: string,
    count: number,
    silent: boolean,
  ): Execution {
    const id = typeof metadata.cellId === 'string' && metadata.cellId ? metadata.cellId : undefined;
    const gone = Array.isArray(metadata.deletedCells) ? metadata.deletedCells : [];
    const deleted: string[] = [];
    const orphans = new Set<string>();
    for (const d of gone) {
      if (typeof d !== 'string' || !this.graph.get(d)) continue;
      deleted.push(d);
      const names = this.graph.remove(d);
      this.slots.delete(d);
      for (const o of this.graph.dependents(d, names)) orphans.add(o);
    }
    this.graph.markStale(orphans);
    const tracked = this.mode !== 'off' && !silent;
    const cell = id ?? `run-${count}`;
    const analysis = tracked ? analyzeCell(code) : undefined;
    const cycle = analysis && this.graph.cycleWith(cell, analysis);
    const ex = { cell, anonymous: !id, tracked, code, analysis, deleted, cycle };
    return { ...ex, orphans: [...orphans] };
  }

  /** The sink for the cell's own outputs: slots when it is tracked and has an id. */
  sinkFor(ex: Execution, publish: Publish): SlotSink | undefined {
    if (!ex.tracked || ex.anonymous) return undefined;
    return new SlotSink(ex.cell, this.slotState(ex.cell), publish, false, this.aliases);
  }

  private slotState(cell: string): SlotState {
    const state = this.slots.get(cell) ?? { count: 0 };
    this.slots.set(cell, state);
    return state;
  }

  /** The reply metadata and the error of a cell refused for closing a cycle. */
  refuse(ex: Execution): { meta: DataflowMeta; error: ReturnType<typeof cycleError> } {
    const cycle = ex.cycle ?? [];
    return { meta: this.meta(ex, { cycle }), error: cycleError(this.graph, ex, cycle) };
  }

  /**
   * After the cell ran: records it, marks its dependents stale and, in auto mode, re-runs them.
   * A type error ran nothing, so it changes nothing. Returns the reply metadata and the notes to
   * show under the cell.
   */
  async end(
    ex: Execution,
    outcome: CellOutcome,
    publish: Publish,
  ): Promise<{ meta: DataflowMeta; notes: MimeBundle[] }> {
    const notes: MimeBundle[] = [];
    if (ex.deleted.length > 0) notes.push(deletedNote(this.graph, ex.deleted, ex.orphans));
    const ran = outcome.status === 'ok' || outcome.ename !== 'TypeScriptError';
    if (!ex.tracked || !ex.analysis || !ran)
      return { meta: this.meta(ex, { stale: ex.orphans }), notes };
    const changed = this.graph.set(ex.cell, ex.code, ex.analysis, ex.anonymous);
    const redefined = this.graph.redefinitions(ex.cell);
    if (redefined.length > 0) notes.push(redefinedNote(this.graph, ex.cell, redefined));
    const downstream = this.graph.dependents(ex.cell, changed);
    this.graph.markStale(downstream);
    let rerun: string[] = [];
    let failed: DataflowMeta['failed'];
    if (this.mode === 'auto' && outcome.status === 'ok' && downstream.length > 0) {
      ({ rerun, failed } = await this.rerun(downstream, publish));
      if (rerun.length > 0) notes.push(rerunNote(this.graph, rerun));
      if (failed) notes.push(failedNote(this.graph, failed));
    }
    const stale = [...new Set([...downstream, ...ex.orphans])].filter(
      (id) => this.graph.get(id)?.stale,
    );
    // The deletion note already lists the orphans, the failure note the cell that failed.
    const waiting = stale.filter((id) => downstream.includes(id) && id !== failed?.cell);
    if (waiting.length > 0) notes.push(staleNote(this.graph, waiting, this.mode));
    return { meta: this.meta(ex, { stale, rerun, redefined, failed }), notes };
  }

  /**
   * Re-runs `ids` in dependency order. A cell without an id cannot show new outputs in place and
   * stays stale, as do the cells below it; the first error stops the chain.
   */
  private async rerun(
    ids: string[],
    publish: Publish,
  ): Promise<{ rerun: string[]; failed?: DataflowMeta['failed'] }> {
    const rerun: string[] = [];
    const blocked = new Set<string>();
    for (const id of this.graph.order(ids)) {
      const node = this.graph.get(id);
      if (!node) continue;
      if (node.anonymous || this.graph.parents(id).some((p) => blocked.has(p))) {
        blocked.add(id);
        continue;
      }
      const sink = new SlotSink(id, this.slotState(id), publish, true, this.aliases);
      const outcome = await this.host.run(node.code, sink);
      if (outcome.status === 'ok') {
        if (outcome.hasValue) sink.result(this.host.bundle(outcome.value, sink));
      } else {
        sink.display(errorBundle(outcome), undefined, false);
      }
      sink.finish();
      rerun.push(id);
      if (outcome.status !== 'ok') {
        return { rerun, failed: { cell: id, ename: outcome.ename, evalue: outcome.evalue } };
      }
      node.stale = false;
    }
    return { rerun };
  }

  private meta(ex: Execution, extra: Partial<DataflowMeta>): DataflowMeta {
    const a = ex.analysis;
    return {
      mode: this.mode,
      cell: ex.cell,
      defines: a?.defines ?? [],
      reads: a ? this.graph.readsOf(ex.cell, a) : [],
      stale: [],
      rerun: [],
      redefined: [],
      deleted: ex.deleted,
      ...extra,
    };
  }
}
