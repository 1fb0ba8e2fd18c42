/**
 * The `dataflow` global cells see: `dataflow.mode('lazy' | 'auto' | 'off')`, `dataflow.graph()`
 * and `dataflow.vars()`. Its types are declared in kernel/converter.ts (GLOBALS_DTS).
 */
import { currentSink } from '../output';
import type { MimeBundle } from '../protocol';
import { graphBundle, varsBundle } from './inspect';
import type { DataflowRunner } from './runner';
import { MODES, type Mode } from './runner';

/** tslab keeps every cell's top-level variables on one shared object (tslab/dist/executor). */
function cellValues(): Record<string, unknown> {
  const tslab = (globalThis as { __tslab__?: { exports?: Record<string, unknown> } }).__tslab__;
  return tslab?.exports ?? {};
}

function show(bundle: MimeBundle): void {
  const sink = currentSink();
  if (!sink) throw new Error('dataflow: no cell is running');
  sink.display(bundle, undefined, false);
}

export function createDataflowApi(runner: DataflowRunner) {
  return {
    /** The current mode; with an argument, switches to it for the cells run from now on. */
    mode(mode?: Mode): Mode {
      if (mode !== undefined) {
        if (!MODES.includes(mode))
          throw new TypeError(`dataflow.mode: '${mode}' is not one of ${MODES.join(', ')}`);
        runner.mode = mode;
      }
      return runner.mode;
    },
    /** Displays the dependency graph: an SVG of the cells and a table. */
    graph(): void {
      show(graphBundle(runner.graph, runner.mode));
    },
    /** Displays the variable inspector: name, type, defining cell, stale or not. */
    vars(): void {
      show(varsBundle(runner.graph, cellValues()));
    },
  };
}

export function installDataflowGlobal(runner: DataflowRunner): void {
  Object.assign(globalThis, { dataflow: createDataflowApi(runner) });
}
