/**
 * Routes output to the cell that produced it. Each execution runs inside an AsyncLocalStorage
 * context, so a `console.log` from a timer or promise started by cell 3 still lands under cell 3
 * even while cell 5 runs (the misplaced-output bugs of denoland/deno#22689 and
 * n-riesco/ijavascript#58).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { MimeBundle } from './protocol';

/** Where one execution's output goes. */
export interface OutputSink {
  stream(name: 'stdout' | 'stderr', text: string): void;
  display(bundle: MimeBundle, displayId: string | undefined, update: boolean): void;
}

const cells = new AsyncLocalStorage<OutputSink>();
let latest: OutputSink | undefined;

/** Runs `fn` with `sink` as the destination of all output it (and its async children) make. */
export function runInCell<T>(sink: OutputSink, fn: () => T): T {
  latest = sink;
  return cells.run(sink, fn);
}

/**
 * The sink for the code running now: the originating cell, else the latest cell (output from
 * callbacks with no async ancestry in any cell, such as native addons), else none.
 */
export function currentSink(): OutputSink | undefined {
  return cells.getStore() ?? latest;
}

type Write = typeof process.stdout.write;

/**
 * Redirects process.stdout/stderr writes into the current sink. Writes with no sink (the test
 * runner's own output, say) pass through. Returns a function that restores the streams.
 */
export function captureStdio(): () => void {
  const saved: [NodeJS.WriteStream, Write][] = [
    [process.stdout, process.stdout.write],
    [process.stderr, process.stderr.write],
  ];
  for (const [stream, original] of saved) {
    const name = stream === process.stdout ? 'stdout' : 'stderr';
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const sink = cells.getStore() ?? latest;
      if (!sink) return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
      sink.stream(name, text);
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as Write;
  }
  return () => {
    for (const [stream, original] of saved) stream.write = original;
  };
}

/** Forgets the latest cell (tests use this so later runner output passes through). */
export function clearLatest(): void {
  latest = undefined;
}
