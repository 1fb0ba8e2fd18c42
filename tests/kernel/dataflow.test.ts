/**
 * The dataflow layer: the analyzer and the graph as units, then a real kernel over ZMQ driven
 * the way JupyterLab drives it (`metadata.cellId`, `metadata.deletedCells`). The kernel runs in a
 * temp folder outside the repository, which also checks that pitlab, tfjs and danfo import there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { analyzeCell } from '../../kernel/dataflow/analyze';
import { DataflowGraph } from '../../kernel/dataflow/graph';
import type { Message } from '../../kernel/protocol';
import { type Reply, TestKernel } from './client';

const sorted = (xs: string[]) => [...xs].sort();

test('analyzer: top-level declarations define, names inside functions and blocks stay local', () => {
  const a = analyzeCell(
    [
      'const a = b + 1;',
      'function f(p: number) { const inner = p + c; return inner; }',
      'for (const i of list) { let t = i; }',
      'if (flag) { const hidden = 1; }',
      'class K extends Base { m() { return d; } }',
    ].join('\n'),
  );
  assert.equal(sorted(a.defines), ['K', 'a', 'f']);
  assert.equal(sorted(a.refs), ['Base', 'b', 'c', 'd', 'flag', 'list']);
});

test('analyzer: _-prefixed names are cell-local, neither defined nor read', () => {
  const a = analyzeCell('const _tmp = 1;\nconst kept = _tmp + _other + shared;');
  assert.equal(a.defines, ['kept']);
  assert.equal(a.refs, ['shared']);
});

test('analyzer: imports define names and remember where they come from', () => {
  const a = analyzeCell(
    "import * as tf from '@tensorflow/tfjs';\nimport { runtime as rt, info } from 'pitlab';\nimport dfd from 'danfojs-node';",
  );
  assert.equal(a.defines, ['tf', 'rt', 'info', 'dfd']);
  assert.equal(a.refs, []);
  assert.equal(a.imports, {
    tf: '@tensorflow/tfjs#*',
    rt: 'pitlab#runtime',
    info: 'pitlab#info',
    dfd: 'danfojs-node#default',
  });
});

test('analyzer: destructuring defines bound names; property names and defaults are read right', () => {
  const a = analyzeCell('const { p, q: r, s = fallback, ...rest } = obj;\nconst [u, , v] = arr;');
  assert.equal(a.defines, ['p', 'r', 's', 'rest', 'u', 'v']);
  assert.equal(sorted(a.refs), ['arr', 'fallback', 'obj']);
});

test('analyzer: functions, classes, types; members and property access are not reads', () => {
  const a = analyzeCell(
    [
      'interface Shape<T> { size: T; other: Extra }',
      'type Pair = [Shape<number>, Mapped];',
      'class Box<T> { value = seed; get twice() { return this.value; } }',
      'function make(n = start) { return { n, label: obj.label, [key]: 1 }; }',
      'enum Color { Red, Blue = Red + 1 }',
    ].join('\n'),
  );
  assert.equal(sorted(a.defines), ['Box', 'Color', 'Pair', 'Shape', 'make']);
  assert.equal(sorted(a.refs), ['Extra', 'Mapped', 'key', 'obj', 'seed', 'start']);
});

test('graph: dependents, dependency order, cycles, redefinitions, re-imports', () => {
  const g = new DataflowGraph();
  const add = (id: string, code: string) => g.set(id, code, analyzeCell(code), false);
  add('a', "import * as tf from '@tensorflow/tfjs';\nconst x = 1;");
  add('b', 'const y = x + 1;');
  add('c', 'const z = 3;');
  add('d', 'const w = y * z;');
  assert.equal(g.dependents('a', ['x']), ['b', 'd']);
  assert.equal(g.order(['d', 'b']), ['b', 'd']);
  assert.equal(g.cycleWith('a', analyzeCell('const x = w;')), ['a', 'b', 'd', 'a']);
  assert.is(g.cycleWith('a', analyzeCell('const x = z;')), undefined);
  // re-running the same import changes nothing downstream; a changed value does
  assert.equal(add('a', "import * as tf from '@tensorflow/tfjs';\nconst x = 1;"), ['x']);
  add('e', "import * as tf from '@tensorflow/tfjs';\nconst y = 2;");
  assert.equal(g.redefinitions('e'), [{ name: 'y', cells: ['b', 'e'] }]);
  assert.equal(g.remove('e'), ['tf', 'y']);
});

// ---- a real kernel, as JupyterLab drives it --------------------------------------------------

const dir = mkdtempSync(path.join(os.tmpdir(), 'pitlab-dataflow-'));
let kernel: TestKernel;

test.before(async () => {
  kernel = await TestKernel.start(dir);
});
test.after(async () => {
  await kernel?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Flow {
  cell: string;
  defines: string[];
  reads: string[];
  stale: string[];
  rerun: string[];
  redefined: Array<{ name: string; cells: string[] }>;
  deleted: string[];
  cycle?: string[];
  failed?: { cell: string; ename: string };
}
const flow = (r: Reply) => r.reply.metadata.dataflow as Flow;
const ok = (r: Reply) => assert.is(r.reply.content.status, 'ok', JSON.stringify(r.reply.content));
const ofType = (r: Reply, type: string) => r.outputs.filter((m) => m.header.msg_type === type);
const displayId = (m: Message) => (m.content.transient as { display_id?: string }).display_id;
const plain = (m: Message) => String((m.content.data as Record<string, unknown>)['text/plain']);
/** The notes under a cell: display_data without a display id. */
const notes = (r: Reply) =>
  ofType(r, 'display_data')
    .filter((m) => !displayId(m))
    .map(plain)
    .join('\n');

test('lazy: re-running a marks its reader b stale, not the independent c', async () => {
  ok(await kernel.executeCell('a', 'const x = 1;'));
  const b = await kernel.executeCell('b', 'const y = x * 2;\ny');
  ok(b);
  assert.equal(flow(b).reads, ['x']);
  assert.equal(ofType(b, 'display_data').map(displayId), ['dataflow-b-0']);
  ok(await kernel.executeCell('c', 'const z = 10;'));
  const again = await kernel.executeCell('a', 'const x = 5;');
  ok(again);
  assert.equal(flow(again).defines, ['x']);
  assert.equal(flow(again).stale, ['b']);
  assert.equal(flow(again).rerun, []);
  assert.match(notes(again), /b {2}const y = x \* 2;/);
  assert.not.match(notes(again), /\bc {2}/);
});

test('auto: b re-runs itself and its output arrives as update_display_data for its id', async () => {
  ok(await kernel.executeCell('mode', "dataflow.mode('auto')"));
  const r = await kernel.executeCell('a', 'const x = 7;');
  ok(r);
  assert.equal(flow(r).rerun, ['b']);
  assert.equal(flow(r).stale, []);
  const updates = ofType(r, 'update_display_data');
  assert.equal(updates.map(displayId), ['dataflow-b-0']);
  assert.is(plain(updates[0]!), '14');
  assert.match(notes(r), /re-ran 1 dependent cell/);
});

test('a name defined by two cells is a warning naming both, and in the metadata', async () => {
  ok(await kernel.executeCell('p', 'const dup = 1;'));
  const q = await kernel.executeCell('q', 'const dup = 2;');
  ok(q);
  assert.equal(flow(q).redefined, [{ name: 'dup', cells: ['p', 'q'] }]);
  assert.match(notes(q), /dup is also defined by cell p/);
  assert.match(notes(q), /this cell is q/);
});

test('a cell that would close a cycle is refused with an error naming the cells', async () => {
  const r = await kernel.executeCell('a', 'const x = y + 1;');
  assert.is(r.reply.content.status, 'error');
  assert.is(r.reply.content.ename, 'DataflowCycleError');
  assert.match(String(r.reply.content.evalue), /a → b → a/);
  assert.equal(flow(r).cycle, ['a', 'b', 'a']);
  const still = await kernel.execute('x');
  assert.is(plainOf(still), '7'); // the refused cell did not run
});

test('a deleted cell leaves the graph and its readers are reported', async () => {
  const r = await kernel.executeCell('n1', 'const other = 1;', { deletedCells: ['a'] });
  ok(r);
  assert.equal(flow(r).deleted, ['a']);
  assert.ok(flow(r).stale.includes('b'), String(flow(r).stale)); // and the cell that read x above
  assert.match(notes(r), /deleted 1 cell \(a\)/);
  const reader = await kernel.executeCell('n2', 'const again = x + 1;');
  assert.equal(flow(reader).reads, []); // nobody defines x any more
});

test('auto: an error in a dependent stops the chain and names the cell', async () => {
  ok(await kernel.executeCell('e1', 'const level = 1;'));
  ok(
    await kernel.executeCell(
      'e2',
      'if (level > 1) throw new Error("level too high");\nconst checked = level;\nchecked',
    ),
  );
  ok(await kernel.executeCell('e3', 'const doubled = checked * 2;'));
  const r = await kernel.executeCell('e1', 'const level = 2;');
  ok(r);
  assert.equal(flow(r).rerun, ['e2']);
  assert.equal(flow(r).failed?.cell, 'e2');
  assert.equal(flow(r).stale, ['e2', 'e3']);
  assert.match(notes(r), /stopped: cell e2 failed with Error: level too high/);
  const shown = ofType(r, 'update_display_data').find((m) => displayId(m) === 'dataflow-e2-0');
  assert.match(plain(shown!), /level too high/);
  ok(await kernel.executeCell('mode', "dataflow.mode('lazy')"));
});

test('an execution without a cell id keeps execute_result and stream, and is its own cell', async () => {
  const r = await kernel.execute('console.log("plain");\nconst anon = z + 1;\nanon');
  ok(r);
  assert.equal(flow(r).reads, ['z']);
  assert.match(flow(r).cell, /^run-\d+$/);
  assert.equal(plainOf(r), '11');
  assert.ok(ofType(r, 'stream').length === 1);
});

test('dataflow.graph() draws an SVG and a table; dataflow.vars() lists names', async () => {
  const r = await kernel.executeCell('g', 'dataflow.graph();\ndataflow.vars();');
  ok(r);
  const [graph, vars] = ofType(r, 'display_data').map(
    (m) => m.content.data as Record<string, string>,
  );
  assert.match(graph!['text/html']!, /<svg[^>]*>.*<table>/s);
  assert.match(graph!['text/plain']!, /e2 +if \(level > 1\).*stale/);
  assert.match(vars!['text/plain']!, /\nz +number +c/);
  assert.match(vars!['text/plain']!, /\ndup +number +p, q/);
});

test('pitlab, tfjs and danfo import with types from a folder outside the repository', async () => {
  const r = await kernel.executeCell(
    'imports',
    [
      "import { runtime } from 'pitlab';",
      "import * as tf from '@tensorflow/tfjs';",
      "import * as dfd from 'danfojs-node';",
      'const ones: tf.Tensor = runtime.tf.tidy(() => tf.ones([2, 2]).sum());',
      'const frame = new dfd.DataFrame({ a: [1, 2, 3] });',
      '[runtime.info().backend.length > 0, ones.dataSync()[0], frame.shape]',
    ].join('\n'),
    { timeoutMs: 120_000 },
  );
  ok(r);
  const slots = ofType(r, 'display_data').filter(displayId);
  assert.is(plain(slots[slots.length - 1]!), '[ true, 4, [ 3, 1 ] ]');
  assert.equal(flow(r).defines, ['runtime', 'tf', 'dfd', 'ones', 'frame']);
  const typed = await kernel.executeCell('typed', 'const wrong: string = tf.ones([1]);');
  assert.is(typed.reply.content.ename, 'TypeScriptError');
  assert.match(String(typed.reply.content.evalue), /Tensor.*not assignable to type 'string'/);
});

function plainOf(r: Reply): string | undefined {
  const m = ofType(r, 'execute_result')[0];
  return m ? plain(m) : undefined;
}

test.run();
