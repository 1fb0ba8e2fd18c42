#!/usr/bin/env node
// `npm test`: formatter + linter, type check, then every uvu suite under tests/.
// Prints one closing line "Tests: N passed, N failed, N skipped" and exits non-zero on any failure.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const only = process.argv[2]; // optional regex to run a subset of test files

const totals = { passed: 0, failed: 0, skipped: 0 };
let ok = true;

function step(title, cmd, args, parse) {
  console.log(`\n▶ ${title}`);
  const res = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process.stdout.write(res.stdout);
  process.stderr.write(res.stderr);
  if (parse) parse(res.stdout + res.stderr);
  if (res.status !== 0) {
    ok = false;
    if (!parse) totals.failed += 1;
    console.log(`✗ ${title} failed (exit ${res.status})`);
  } else if (!parse) {
    totals.passed += 1;
  }
}

if (!only) {
  step('format + lint (biome)', bin('biome'), ['check', '.']);
  step('type check (tsc --strict)', bin('tsc'), ['--noEmit', '-p', '.']);
}
step('unit tests (uvu)', bin('uvu'), ['tests', only ?? '\\.test\\.ts$', '-r', 'tsx/cjs'], (out) => {
  // uvu closes with "Total: N / Passed: N / Skipped: N"
  const num = (re) => Number((out.match(re) ?? [])[1] ?? 0);
  const total = num(/Total:\s+(\d+)/);
  const passed = num(/Passed:\s+(\d+)/);
  const skipped = num(/Skipped:\s+(\d+)/);
  totals.passed += passed;
  totals.skipped += skipped;
  totals.failed += Math.max(0, total - passed - skipped);
  if (total === 0) {
    console.log('✗ no uvu test ran');
    totals.failed += 1;
  }
});

console.log(`\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(ok && totals.failed === 0 ? 0 : 1);
