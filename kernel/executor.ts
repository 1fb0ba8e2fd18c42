/**
 * Runs one cell: tslab's converter type-checks and compiles it, tslab's executor runs it, and
 * this module turns what tslab prints into structured outcomes. tslab reports through an
 * injected console: `log(value)` is the cell's last value and `error(...)` a diagnostic or a
 * thrown value, so capturing that console gives us values and errors as objects rather than text.
 */
import * as path from 'node:path';
import { isCompleteCode } from 'tslab/dist/converter';
import { type ConsoleInterface, createExecutor } from 'tslab/dist/executor';
import { printQuickInfo } from 'tslab/dist/inspect';
import { createConverter, expandShorthandProperties } from './converter';

export type CellOutcome =
  | { status: 'ok'; hasValue: boolean; value?: unknown }
  | { status: 'error'; ename: string; evalue: string; traceback: string[] };

export interface Completion {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}

export interface CellExecutor {
  /** Type-checks and runs `code`; never throws for errors in the cell. */
  execute(code: string): Promise<CellOutcome>;
  complete(code: string, cursor: number): Completion;
  /** Quick info (type and docs) at `cursor`, or undefined when there is none. */
  inspect(code: string, cursor: number): string | undefined;
  isComplete(code: string): { status: 'complete' | 'incomplete'; indent: string };
  /** Stops a pending top-level await; a busy synchronous loop is stopped by SIGINT instead. */
  interrupt(): void;
  close(): void;
}

/** The ename used for interrupted cells, as users of other kernels know it. */
export const INTERRUPTED = 'KeyboardInterrupt';

/**
 * Creates an executor whose cells resolve modules (and `import ... from 'pitlab'`) from
 * `rootDir`, normally the notebook's directory.
 */
export function createCellExecutor(rootDir: string): CellExecutor {
  // Filled by tslab through `sink` while one cell runs (cells run one at a time).
  const state: { last?: { value: unknown }; thrown?: { value: unknown }; diagnostics: string[] } = {
    diagnostics: [],
  };
  const sink: ConsoleInterface = {
    log(value?: unknown) {
      state.last = { value };
    },
    error(first?: unknown, ...rest: unknown[]) {
      // Diagnostics arrive as ("%s%d:%d - %s", file, line, col, message); anything else is thrown.
      if (first === '%s%d:%d - %s') {
        const [file, line, col, message] = rest as [string, number, number, string];
        state.diagnostics.push(`${file}${line}:${col} - ${message}`);
      } else {
        state.thrown = { value: first };
      }
    },
  };
  const conv = createConverter(rootDir);
  const exec = createExecutor(
    rootDir,
    { node: conv, browser: conv, close: () => conv.close() },
    sink,
  );

  return {
    async execute(code) {
      Object.assign(state, { last: undefined, thrown: undefined, diagnostics: [] });
      const ok = await exec.execute(expandShorthandProperties(code));
      const { last, thrown, diagnostics } = state;
      if (ok) {
        return last
          ? { status: 'ok', hasValue: true, value: last.value }
          : { status: 'ok', hasValue: false };
      }
      if (diagnostics.length > 0) {
        const n = diagnostics.length;
        return {
          status: 'error',
          ename: 'TypeScriptError',
          evalue: n === 1 ? (diagnostics[0] ?? '') : `${n} errors; the first: ${diagnostics[0]}`,
          traceback: diagnostics,
        };
      }
      return describeThrown(thrown?.value);
    },
    complete(code, cursor) {
      const info = exec.complete(code, cursor);
      return { matches: info.candidates, cursorStart: info.start, cursorEnd: info.end };
    },
    inspect(code, cursor) {
      const info = exec.inspect(code, cursor);
      if (!info) return undefined;
      const text = printQuickInfo(info);
      return text || undefined;
    },
    isComplete(code) {
      const r = isCompleteCode(code);
      return { status: r.completed ? 'complete' : 'incomplete', indent: r.indent ?? '' };
    },
    interrupt: () => exec.interrupt(),
    close: () => exec.close(),
  };
}

/** Maps a thrown value to ename/evalue/traceback, cutting the kernel's own frames. */
export function describeThrown(value: unknown): CellOutcome {
  if (value instanceof Error || isErrorLike(value)) {
    const e = value as Error & { code?: string };
    const interrupted =
      e.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED' || e.message === 'Interrupted asynchronously';
    const stack = (e.stack ?? `${e.name}: ${e.message}`).split('\n');
    const head = stack.findIndex((l) => l.startsWith(`${e.name}`));
    const frames = stack.slice(Math.max(0, head) + 1);
    const cut = frames.findIndex(
      (l) => l.includes('node:vm') || l.includes(`${path.sep}tslab${path.sep}`),
    );
    return {
      status: 'error',
      ename: interrupted ? INTERRUPTED : e.name,
      evalue: interrupted ? 'the cell was interrupted' : e.message,
      traceback: [`${e.name}: ${e.message}`, ...(cut < 0 ? frames : frames.slice(0, cut))],
    };
  }
  const text = typeof value === 'string' ? value : safeString(value);
  return { status: 'error', ename: 'Error', evalue: text, traceback: [`Uncaught ${text}`] };
}

function isErrorLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'message' in v && 'stack' in v;
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
