/**
 * tslab's converter (type check + compile to CommonJS) with two additions for pitlab notebooks:
 * the `pitlab` package resolves to this repository's sources for the type checker, and the
 * kernel's display globals are declared.
 */
import * as path from 'node:path';
import * as ts from '@tslab/typescript-for-tslab';
import { type Converter, createConverter as createTslabConverter } from 'tslab/dist/converter';

/** The repository root: this file lives in `<root>/kernel/`. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** Declarations of the globals that kernel/globals.ts installs. */
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
}
`;

let sysPatched = false;

/**
 * Makes `<root>/node_modules/pitlab` an alias of the repository for tslab's compiler, so
 * `import ... from 'pitlab'` type-checks from any notebook in the repository. tslab resolves
 * with TypeScript's node10 rules, which ignore package self-references. Being inside
 * node_modules also keeps these files out of tslab's emit and its rootDir check (the
 * "outside rootDir" failures of yunabe/tslab#63, #47); at run time Node's own self-reference
 * through package.json `exports` loads the same sources.
 */
function patchSys(): void {
  if (sysPatched) return;
  sysPatched = true;
  const alias = path.join(REPO_ROOT, 'node_modules', 'pitlab');
  const map = (p: string) =>
    p === alias || p.startsWith(alias + path.sep) ? REPO_ROOT + p.slice(alias.length) : p;
  const sys = ts.sys as unknown as Record<string, unknown>;
  const readFile = ts.sys.readFile;
  // pitlab's sources are checked by the project's own (newer, strict) tsc; tslab's TypeScript 5.0
  // must not re-judge them, or a construct it narrows differently would block every cell that
  // imports pitlab. `@ts-nocheck` keeps their types and drops their semantic diagnostics.
  sys.readFile = (p: string, encoding?: string) => {
    const mapped = map(p);
    const text = readFile.call(ts.sys, mapped, encoding);
    const isSource = mapped !== p && /\.tsx?$/.test(p) && !p.endsWith('.d.ts');
    return isSource && text !== undefined ? `// @ts-nocheck\n${text}` : text;
  };
  for (const name of ['fileExists', 'directoryExists', 'getFileSize', 'getModifiedTime']) {
    const original = sys[name] as ((p: string, ...rest: unknown[]) => unknown) | undefined;
    if (original)
      sys[name] = (p: string, ...rest: unknown[]) => original.call(ts.sys, map(p), ...rest);
  }
  const realpath = ts.sys.realpath;
  if (realpath) {
    // Keep the alias path: a real path outside node_modules would make tslab emit the sources.
    // Dependencies seen through the alias (`pitlab/node_modules/danfojs-node`) get their real
    // path instead, so a cell's declaration emit can name their types (`danfojs-node`): without
    // it `const df = someFrame()` fails with "cannot be named without a reference to ...".
    const aliasDeps = path.join(alias, 'node_modules') + path.sep;
    sys.realpath = (p: string) =>
      map(p) !== p && !p.startsWith(aliasDeps) ? p : realpath.call(ts.sys, map(p));
  }
}

/** A tslab converter rooted at `rootDir` (tslab roots at the process cwd when created). */
export function createConverter(rootDir: string): Converter {
  patchSys();
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
