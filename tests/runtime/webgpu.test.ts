/**
 * The webgpu backend (Dawn) against the cpu backend: forward logits, loss, per-parameter gradient
 * norms, the tied embedding's gradient and one AdamW step of a small GPT, each run in its own
 * process. Tolerance: 2e-3 relative to the largest magnitude of each quantity (float32 on both
 * sides; the GPU sums in a different order and tfjs-webgpu's exp/tanh differ in the last bits).
 *
 * Without an adapter (no Vulkan driver, no lavapipe) the suite is skipped loudly, except under
 * CI=true, where .ci/run installs lavapipe and a skip would hide a broken install.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probeWebgpuAdapter } from '../../src/runtime/webgpu';

const TOLERANCE = 2e-3;
const HELPER = path.join(__dirname, 'webgpu-ref.ts');

function runOn(backend: 'cpu' | 'webgpu'): Record<string, number[] | string> {
  const res = spawnSync(process.execPath, ['-r', 'tsx/cjs', HELPER], {
    encoding: 'utf8',
    env: { ...process.env, PITLAB_BACKEND: backend },
    timeout: 300_000,
  });
  if (res.status !== 0) {
    throw new Error(
      `${backend} reference run failed (exit ${res.status}):\n${res.stderr.slice(-2000)}`,
    );
  }
  const line = res.stdout
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  return JSON.parse(line!);
}

function relErr(a: number[], b: number[]): number {
  assert.is(a.length, b.length);
  let scale = 1e-12;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / scale;
}

const probe = probeWebgpuAdapter();
if (!probe.ok) {
  const msg = `webgpu: NO ADAPTER (${probe.reason}); the webgpu tests are SKIPPED. Install mesa-vulkan-drivers >= 23 (Debian: bookworm-backports) for lavapipe.`;
  if (process.env.CI === 'true') {
    test('webgpu adapter present in CI', () => assert.unreachable(msg));
  } else {
    console.warn(`\n⚠ ${msg}\n`);
    test.skip('webgpu forward, backward and AdamW step match cpu', () => {});
  }
} else {
  test('webgpu forward, backward and AdamW step match cpu', () => {
    const cpu = runOn('cpu');
    const gpu = runOn('webgpu');
    assert.is(cpu.backend, 'cpu');
    assert.is(gpu.backend, 'webgpu');
    for (const key of Object.keys(cpu)) {
      if (key === 'backend') continue;
      const err = relErr(gpu[key] as number[], cpu[key] as number[]);
      assert.ok(err < TOLERANCE, `${key}: relative error ${err.toExponential(2)} ≥ ${TOLERANCE}`);
    }
    // the step moved the weights and lowered the loss on both backends
    assert.ok((gpu.loss2 as number[])[0]! < (gpu.loss as number[])[0]!);
  });
}

test.run();
