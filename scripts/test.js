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

function step(title, cmd, args, parse, env) {
  console.log(`\n▶ ${title}`);
  const res = spawnSync(cmd, args, {
    cwd: root,
    env: env ? { ...process.env, ...env } : process.env,
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

// The model, reward-model and training suites again on the webgpu backend (Dawn; lavapipe on CI),
// in their own process because the runtime holds one backend per process. No adapter: a loud skip,
// except under CI=true where .ci/run installs lavapipe and a skip would hide a broken install.
if (!only || process.env.PITLAB_WEBGPU_PASS) {
  const probe = spawnSync(
    process.execPath,
    [
      '-r',
      'tsx/cjs',
      '-e',
      "process.stdout.write(JSON.stringify(require('./src/runtime/webgpu').probeWebgpuAdapter()))",
    ],
    { cwd: root, encoding: 'utf8' },
  );
  let adapter;
  try {
    adapter = JSON.parse(probe.stdout.trim().split('\n').pop());
  } catch {
    adapter = { ok: false, reason: `probe failed: ${probe.stderr.slice(-300)}` };
  }
  const suites = process.env.PITLAB_WEBGPU_SUITES ?? '(models|train)/.*\\.test\\.ts$';
  if (adapter.ok) {
    console.log(`\n▶ webgpu pass on ${adapter.adapter.description}`);
    step(
      'unit tests on webgpu (uvu, PITLAB_BACKEND=webgpu)',
      bin('uvu'),
      ['tests', suites, '-r', 'tsx/cjs'],
      (out) => {
        const num = (re) => Number((out.match(re) ?? [])[1] ?? 0);
        const total = num(/Total:\s+(\d+)/);
        const passed = num(/Passed:\s+(\d+)/);
        totals.passed += passed;
        totals.skipped += num(/Skipped:\s+(\d+)/);
        totals.failed += Math.max(0, total - passed - num(/Skipped:\s+(\d+)/));
        if (total === 0) totals.failed += 1;
      },
      { PITLAB_BACKEND: 'webgpu' },
    );
  } else if (process.env.CI === 'true') {
    console.log(`\n✗ webgpu pass: no adapter under CI (${adapter.reason})`);
    totals.failed += 1;
    ok = false;
  } else {
    console.log(`\n⚠ webgpu pass SKIPPED: no WebGPU adapter (${adapter.reason}).`);
    console.log(
      '  Install Mesa lavapipe (mesa-vulkan-drivers >= 23, Debian bookworm-backports) to run it.',
    );
    totals.skipped += 1;
  }
}

// The kernel under Jupyter itself: jupyter_kernel_test's conformance suite (tests/kernel/
// test_kernel.py) and a plotly notebook exported by nbconvert and screenshotted in headless
// Chromium (test_notebook_render.py), against a kernelspec installed into a temp prefix. No
// Jupyter: a loud skip, a failure under CI=true (CI must never pass without running them).
if (!only || /kernel/.test(only)) {
  const fs = require('node:fs');
  const os = require('node:os');
  const py = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const files = ['test_kernel', 'test_notebook_render'];
  const probe = spawnSync(py, ['-c', 'import jupyter_kernel_test, nbconvert, nbclient'], {
    encoding: 'utf8',
  });
  const jupyter = spawnSync('jupyter', ['nbconvert', '--version'], { encoding: 'utf8' });
  if (probe.status === 0 && jupyter.status === 0) {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'pitlab-jupyter-'));
    const install = spawnSync(
      process.execPath,
      [path.join(root, 'bin', 'pitlab.js'), 'install', '--prefix', prefix],
      { cwd: root, encoding: 'utf8' },
    );
    if (install.status !== 0) {
      console.log(`\n✗ kernel tests: pitlab install failed: ${install.stderr}`);
      totals.failed += 1;
      ok = false;
    } else {
      step(
        'kernel under Jupyter (jupyter_kernel_test, nbconvert + Chromium)',
        py,
        ['-m', 'unittest', 'discover', '-v', '-s', path.join('tests', 'kernel'), '-p', 'test_*.py'],
        (out) => {
          // unittest closes with "Ran N tests" and "OK (skipped=S)" or "FAILED (failures=F, errors=E, ...)"
          const ran = Number((out.match(/^Ran (\d+) tests?/m) ?? [])[1] ?? 0);
          const count = (key) => Number((out.match(new RegExp(`${key}=(\\d+)`)) ?? [])[1] ?? 0);
          const failed = count('failures') + count('errors') + count('unexpected successes');
          const skipped = count('skipped');
          totals.passed += Math.max(0, ran - failed - skipped);
          totals.failed += failed;
          totals.skipped += skipped;
          if (ran === 0) {
            console.log('✗ no kernel test ran');
            totals.failed += 1;
          }
        },
        { JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') },
      );
    }
    fs.rmSync(prefix, { recursive: true, force: true });
  } else if (process.env.CI === 'true') {
    console.log(`\n✗ kernel tests: Jupyter not found under CI: ${probe.stderr.trim()}`);
    totals.failed += files.length;
    ok = false;
  } else {
    console.log('\n⚠⚠⚠ kernel tests under Jupyter SKIPPED: Jupyter is not installed. ⚠⚠⚠');
    console.log(
      '  Install: sudo apt-get install jupyter-nbconvert python3-nbclient python3-jupyter-kernel-test chromium',
    );
    totals.skipped += files.length;
  }
}

// The tutorial notebooks, run top to bottom by nbclient under the pitlab kernel (installed into a
// temp prefix) on the smoke profile, all sharing the stage cache: tests/notebooks/execute.py fails
// a notebook on any error output (type errors included) or without a plotly figure and an HTML
// table, and prints each one's run time. No Jupyter: a loud skip, a failure under CI=true.
if (!only || /notebooks/.test(only)) {
  const fs = require('node:fs');
  const os = require('node:os');
  const py = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const probe = spawnSync(py, ['-c', 'import nbclient, nbformat, jupyter_client'], {
    encoding: 'utf8',
  });
  if (probe.status === 0) {
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'pitlab-jupyter-'));
    const install = spawnSync(
      process.execPath,
      [path.join(root, 'bin', 'pitlab.js'), 'install', '--prefix', prefix],
      { cwd: root, encoding: 'utf8' },
    );
    const notebooks = fs
      .readdirSync(path.join(root, 'notebooks'))
      .filter((f) => /^\d\d-.*\.ipynb$/.test(f))
      .sort()
      .map((f) => path.join('notebooks', f));
    if (install.status !== 0) {
      console.log(`\n✗ notebooks: pitlab install failed: ${install.stderr}`);
      totals.failed += 1;
      ok = false;
    } else {
      step(
        `tutorial notebooks (nbclient, pitlab kernel, PITLAB_PROFILE=smoke)`,
        py,
        [path.join('tests', 'notebooks', 'execute.py'), ...notebooks],
        (out) => {
          const m = out.match(/Notebooks: (\d+) passed, (\d+) failed/);
          if (!m) {
            console.log('✗ notebooks: the runner did not report');
            totals.failed += 1;
            return;
          }
          totals.passed += Number(m[1]);
          totals.failed += Number(m[2]);
        },
        { JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), PITLAB_PROFILE: 'smoke' },
      );
    }
    fs.rmSync(prefix, { recursive: true, force: true });
  } else if (process.env.CI === 'true') {
    console.log(`\n✗ notebooks: Jupyter (nbclient) not found under CI: ${probe.stderr.trim()}`);
    totals.failed += 1;
    ok = false;
  } else {
    console.log('\n⚠ tutorial notebooks SKIPPED: Jupyter is not installed (python3 nbclient).');
    console.log('  Install it with: sudo apt-get install jupyter-nbconvert python3-nbclient');
    totals.skipped += 1;
  }
}

console.log(`\nTests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(ok && totals.failed === 0 ? 0 : 1);
