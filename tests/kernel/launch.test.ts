/**
 * Starting notebooks: `pitlab notebook` as root passes `--allow-root` (Jupyter refuses root
 * without it) and every other argument through; the repository's packages are lent to notebook
 * folders outside it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { aliasTarget, lendPackagesToCompiler, REPO_ROOT } from '../../kernel/modules';
import { jupyterArgs } from '../../src/cli/kernel';

test('jupyterArgs: --allow-root for uid 0 only, once, before the arguments passed through', () => {
  assert.equal(jupyterArgs(false, '/nb', ['--port', '9999'], 0), [
    'notebook',
    '--notebook-dir=/nb',
    '--allow-root',
    '--port',
    '9999',
  ]);
  assert.equal(jupyterArgs(true, '/nb', [], 1000), ['lab', '--notebook-dir=/nb']);
  assert.equal(jupyterArgs(false, '/nb', ['--allow-root'], 0), [
    'notebook',
    '--notebook-dir=/nb',
    '--allow-root',
  ]);
});

test('pitlab notebook starts jupyter with the right arguments (a stand-in jupyter on PATH)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pitlab-notebook-'));
  try {
    const log = path.join(dir, 'args.txt');
    const fake = path.join(dir, 'jupyter');
    writeFileSync(fake, `#!/bin/sh\n[ "$1" = "--version" ] && exit 0\necho "$@" > "${log}"\n`);
    chmodSync(fake, 0o755);
    const res = spawnSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'bin', 'pitlab.js'),
        'notebook',
        '--lab',
        '--no-browser',
        '--',
        '--port=9999',
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, JUPYTER_DATA_DIR: dir },
        timeout: 120_000,
      },
    );
    assert.is(res.status, 0, res.stderr);
    const root = process.getuid?.() === 0 ? ' --allow-root' : '';
    const notebooks = path.join(REPO_ROOT, 'notebooks');
    assert.is(
      readFileSync(log, 'utf8').trim(),
      `lab --notebook-dir=${notebooks}${root} --no-browser --port=9999`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a notebook folder outside the repository sees its packages through aliases', () => {
  const outside = mkdtempSync(path.join(os.tmpdir(), 'pitlab-alias-'));
  try {
    lendPackagesToCompiler(outside);
    const nm = path.join(outside, 'node_modules');
    assert.is(
      aliasTarget(path.join(nm, '@tensorflow', 'tfjs', 'package.json')),
      path.join(REPO_ROOT, 'node_modules', '@tensorflow', 'tfjs', 'package.json'),
    );
    assert.is(
      aliasTarget(path.join(nm, 'pitlab', 'src', 'index.ts')),
      path.join(REPO_ROOT, 'src', 'index.ts'),
    );
    assert.is(
      aliasTarget(path.join(nm, 'no-such-package', 'x.js')),
      path.join(nm, 'no-such-package', 'x.js'),
    );
    const inRepo = path.join(REPO_ROOT, 'node_modules', 'danfojs-node', 'package.json');
    assert.is(aliasTarget(inRepo), inRepo);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test.run();
