/**
 * Lends the repository's packages to notebooks anywhere: `import ... from 'pitlab'`,
 * `'@tensorflow/tfjs'` or `'danfojs-node'` resolve, with types, from a notebook folder that has no
 * node_modules of its own.
 *
 * - Type checker: tslab's compiler (TypeScript 5.0, node10 resolution) sees
 *   `<root>/node_modules/pitlab` as an alias of the repository for every alias root, and, for a
 *   notebook folder outside the repository, `<notebook>/node_modules/<pkg>` as an alias of the
 *   repository's `node_modules/<pkg>` wherever the folder lacks that package.
 * - Runtime: a bare specifier that Node cannot resolve from the notebook is resolved again from
 *   the repository (`pitlab` through package.json's self-reference: `src/index.ts`).
 */
import { existsSync } from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import * as ts from '@tslab/typescript-for-tslab';

/** The repository root: this file lives in `<root>/kernel/`. */
export const REPO_ROOT = path.resolve(__dirname, '..');
const REPO_MODULES = path.join(REPO_ROOT, 'node_modules');
const SELF = 'pitlab';

/** Folders whose `node_modules/` is aliased: the repository, plus notebook folders outside it. */
const aliasRoots = new Set<string>([REPO_ROOT]);
const present = new Map<string, boolean>();
const exists = (p: string) => {
  let known = present.get(p);
  if (known === undefined) {
    known = existsSync(p);
    present.set(p, known);
  }
  return known;
};

/** `node_modules/<pkg>/<rest>` of `p` below `root`, or undefined. */
function packageOf(root: string, p: string): { pkg: string; rest: string } | undefined {
  const base = path.join(root, 'node_modules') + path.sep;
  if (!p.startsWith(base)) return undefined;
  const parts = p.slice(base.length).split(path.sep);
  const n = parts[0]?.startsWith('@') ? 2 : 1;
  if (parts.length < n || !parts[n - 1]) return undefined;
  return { pkg: parts.slice(0, n).join('/'), rest: parts.slice(n).join(path.sep) };
}

/** Whether `<root>/node_modules/<pkg>` is lent from the repository (pitlab always is). */
function lent(root: string, pkg: string): boolean {
  if (pkg === SELF) return true;
  if (root === REPO_ROOT) return false;
  return !exists(path.join(root, 'node_modules', pkg)) && exists(path.join(REPO_MODULES, pkg));
}

/** The real file behind an alias path, or `p` itself. */
export function aliasTarget(p: string): string {
  for (const root of aliasRoots) {
    const hit = packageOf(root, p);
    if (!hit || !lent(root, hit.pkg)) continue;
    const target = hit.pkg === SELF ? REPO_ROOT : path.join(REPO_MODULES, hit.pkg);
    return hit.rest ? path.join(target, hit.rest) : target;
  }
  return p;
}

/**
 * The path the compiler should treat as real. Alias paths stay as they are: a real path outside
 * node_modules would make tslab emit pitlab's sources (the "outside rootDir" failures of
 * yunabe/tslab#63, #47), and a declaration emit can only name a package found in a node_modules
 * folder above the notebook. A dependency seen through pitlab's alias
 * (`<root>/node_modules/pitlab/node_modules/danfojs-node`) becomes the package of the root
 * itself, so `const df = someFrame()` can name `danfojs-node` in its declaration.
 */
function aliasRealpath(p: string, realpath: (p: string) => string): string {
  for (const root of aliasRoots) {
    const hit = packageOf(root, p);
    if (!hit || !lent(root, hit.pkg)) continue;
    if (hit.pkg !== SELF) return p;
    const dep = packageOf(path.join(root, 'node_modules', SELF), p);
    if (!dep) return p;
    const own = path.join(root, 'node_modules', dep.pkg, dep.rest);
    return lent(root, dep.pkg) ? own : realpath(aliasTarget(p));
  }
  return realpath(p);
}

let sysPatched = false;

/** Routes ts.sys file access through the aliases (once per process; tslab shares ts.sys). */
function patchSys(): void {
  if (sysPatched) return;
  sysPatched = true;
  const sys = ts.sys as unknown as Record<string, unknown>;
  const readFile = ts.sys.readFile;
  // pitlab's sources are checked by the project's own (newer, strict) tsc; tslab's TypeScript 5.0
  // must not re-judge them, or a construct it narrows differently would block every cell that
  // imports pitlab. `@ts-nocheck` keeps their types and drops their semantic diagnostics.
  sys.readFile = (p: string, encoding?: string) => {
    const mapped = aliasTarget(p);
    const text = readFile.call(ts.sys, mapped, encoding);
    const isSource =
      mapped !== p &&
      !mapped.startsWith(REPO_MODULES + path.sep) &&
      /\.tsx?$/.test(p) &&
      !p.endsWith('.d.ts');
    return isSource && text !== undefined ? `// @ts-nocheck\n${text}` : text;
  };
  for (const name of ['fileExists', 'directoryExists', 'getFileSize', 'getModifiedTime']) {
    const original = sys[name] as ((p: string, ...rest: unknown[]) => unknown) | undefined;
    if (original)
      sys[name] = (p: string, ...rest: unknown[]) => original.call(ts.sys, aliasTarget(p), ...rest);
  }
  const realpath = ts.sys.realpath;
  if (realpath) {
    const real = (p: string) => realpath.call(ts.sys, p);
    sys.realpath = (p: string) => aliasRealpath(p, real);
  }
}

/** Whether `dir` is the repository or inside it (resolution then reaches its node_modules). */
export function insideRepo(dir: string): boolean {
  const rel = path.relative(REPO_ROOT, path.resolve(dir));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Makes the repository's packages visible to tslab's compiler for cells rooted at `rootDir`. */
export function lendPackagesToCompiler(rootDir: string): void {
  patchSys();
  if (!insideRepo(rootDir)) aliasRoots.add(path.resolve(rootDir));
}

type Resolve = (request: string, parent: unknown, ...rest: unknown[]) => string;
let runtimePatched = false;

/**
 * Retries a failed bare-specifier resolution from the repository, so cells in a folder without
 * node_modules load the same module instances as pitlab itself (one tfjs engine per process).
 */
export function lendPackagesToRuntime(): void {
  if (runtimePatched) return;
  runtimePatched = true;
  const mod = Module as unknown as { _resolveFilename: Resolve };
  const original = mod._resolveFilename;
  const fromRepo = Module.createRequire(path.join(REPO_ROOT, 'package.json'));
  mod._resolveFilename = function (request: string, parent: unknown, ...rest: unknown[]) {
    try {
      return original.call(this, request, parent, ...rest);
    } catch (err) {
      const bare = !request.startsWith('.') && !path.isAbsolute(request) && !/^node:/.test(request);
      if (!bare || (err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
      try {
        return fromRepo.resolve(request);
      } catch {
        throw err;
      }
    }
  };
}
