/**
 * The convention for committed notebooks: outputs stripped. Every notebook under notebooks/ is
 * nbformat 4 on the `pitlab` kernel, with no outputs, no execution counts and no execution
 * timing metadata, so diffs show only source changes. The README links the series in order.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = path.resolve(__dirname, '..', '..');
const DIR = path.join(ROOT, 'notebooks');

const SERIES = [
  '01-preference-data',
  '02-sft-and-reward-models',
  '03-rlhf-and-the-pit-curriculum',
  '04-self-improvement',
  '05-reproducing-the-paper',
  '06-bring-your-own-data',
  '07-pit-as-dataflow',
] as const;

interface Cell {
  cell_type: string;
  source: string | string[];
  metadata?: Record<string, unknown>;
  outputs?: unknown[];
  execution_count?: number | null;
}

interface Notebook {
  nbformat: number;
  metadata: { kernelspec?: { name?: string }; language_info?: { name?: string } };
  cells: Cell[];
}

const notebooks = readdirSync(DIR)
  .filter((f) => f.endsWith('.ipynb'))
  .sort();

const read = (file: string) => JSON.parse(readFileSync(path.join(DIR, file), 'utf8')) as Notebook;

test('the six notebooks of the series are all there is', () => {
  assert.equal(
    notebooks,
    SERIES.map((s) => `${s}.ipynb`),
  );
});

for (const file of notebooks) {
  test(`${file}: pitlab kernel, outputs stripped`, () => {
    const nb = read(file);
    assert.is(nb.nbformat, 4, 'nbformat');
    assert.is(nb.metadata.kernelspec?.name, 'pitlab', 'kernelspec name');
    assert.is(nb.metadata.language_info?.name, 'typescript', 'language_info.name');
    assert.ok(nb.cells.length > 0, 'no cells');
    nb.cells.forEach((cell, i) => {
      const where = `${file} cell ${i}`;
      const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
      assert.ok(source.trim() !== '', `${where} is empty`);
      if (cell.cell_type !== 'code') return;
      assert.equal(cell.outputs, [], `${where} has outputs: strip them before committing`);
      assert.is(cell.execution_count, null, `${where} has an execution_count`);
      assert.not.ok(cell.metadata?.execution, `${where} has execution timing metadata`);
    });
  });

  test(`${file}: starts with a title and explains itself in markdown`, () => {
    const nb = read(file);
    const first = nb.cells[0]!;
    const text = Array.isArray(first.source) ? first.source.join('') : first.source;
    assert.is(first.cell_type, 'markdown');
    assert.match(text, /^# \d\d · /);
    const markdown = nb.cells.filter((c) => c.cell_type === 'markdown').length;
    assert.ok(markdown >= 4, `${file} has only ${markdown} markdown cells`);
  });
}

test('the README links the series in order', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = SERIES.map((s) => readme.indexOf(`notebooks/${s}.ipynb`));
  at.forEach((pos, i) => {
    assert.ok(pos >= 0, `README does not link notebooks/${SERIES[i]}.ipynb`);
  });
  assert.equal(
    at,
    [...at].sort((a, b) => a - b),
    'README links the notebooks out of order',
  );
});

test.run();
