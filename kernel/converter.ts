/**
 * tslab's converter (type check + compile to CommonJS) with two additions for pitlab notebooks:
 * the repository's packages (`pitlab` itself, tfjs, danfo) resolve for the type checker from a
 * notebook anywhere (kernel/modules.ts), and the kernel's globals are declared.
 */
import * as ts from '@tslab/typescript-for-tslab';
import { type Converter, createConverter as createTslabConverter } from 'tslab/dist/converter';
import { lendPackagesToCompiler } from './modules';

/** Declarations of the globals that kernel/globals.ts and kernel/dataflow/api.ts install. */
export const GLOBALS_DTS = `
export {};
declare global {
  /** A value that renders as the MIME bundle it returns (the Deno kernel's protocol). */
  interface JupyterDisplayable { [key: symbol]: () => Record<string, unknown> }
  /** Displays \`value\` as a rich output; with \`id\`, later calls with \`update: true\` replace it. */
  function display(value: unknown, options?: { id?: string; update?: boolean; raw?: boolean }): void;
  /** \`html\\\`<b>x</b>\\\`\` renders as HTML. */
  function html(strings: TemplateStringsArray, ...values: unknown[]): JupyterDisplayable;
  /** \`md\\\`# title\\\`\` renders as Markdown. */
  function md(strings: TemplateStringsArray, ...values: unknown[]): JupyterDisplayable;
  /** A progress line updated in place, e.g. for training stages. */
  function progress(label: string, total: number): {
    update(done: number, note?: string): void;
    done(note?: string): void;
  };
  /** The dataflow layer: which cells read which, stale marking and re-runs (kernel/README.md). */
  const dataflow: {
    /**
     * The current mode; with an argument, switches to it: 'lazy' marks the cells downstream of a
     * re-run cell stale, 'auto' re-runs them in place, 'off' tracks nothing.
     */
    mode(mode?: 'lazy' | 'auto' | 'off'): 'lazy' | 'auto' | 'off';
    /** Displays the dependency graph: an SVG of the cells and a table. */
    graph(): void;
    /** Displays the variable inspector: name, type, defining cell, stale or not. */
    vars(): void;
  };
}
`;

/** A tslab converter rooted at `rootDir` (tslab roots at the process cwd when created). */
export function createConverter(rootDir: string): Converter {
  lendPackagesToCompiler(rootDir);
  const cwd = process.cwd();
  process.chdir(rootDir);
  try {
    const conv = createTslabConverter();
    // An in-memory root file: its `declare global` applies to every cell. It is no cell's
    // import, so it never joins a cell's emitted dependencies.
    const diags = conv.addModule('__pitlab_kernel_globals__', GLOBALS_DTS);
    if (diags.length > 0) {
      throw new Error(
        `kernel globals do not type-check: ${diags.map((d) => d.messageText).join('; ')}`,
      );
    }
    return conv;
  } finally {
    process.chdir(cwd);
  }
}

/**
 * Rewrites shorthand properties `{ a }` as `{ a: a }` (and `{ a = 1 }` in destructuring
 * assignments as `{ a: a = 1 }`), which mean the same. tslab rewrites a reference to an earlier
 * cell's declaration `a` as `exports.a`, but misses the shorthand form, whose identifier the
 * checker resolves to the property: `{ a }` then throws "a is not defined" at run time. Columns of
 * diagnostics after a rewritten property on the same line shift by the inserted text.
 */
export function expandShorthandProperties(code: string): string {
  const file = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.Latest, true);
  const inserts: Array<{ at: number; text: string }> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isShorthandPropertyAssignment(node)) {
      inserts.push({ at: node.name.getEnd(), text: `: ${node.name.text}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = code;
  for (const { at, text } of inserts.sort((a, b) => b.at - a.at)) {
    out = out.slice(0, at) + text + out.slice(at);
  }
  return out;
}
