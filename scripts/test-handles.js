// Preloaded into each uvu process by scripts/test.js: once uvu prints its summary, a process that
// is still alive 10 s later prints what keeps it alive (open handles and resources), so a test
// file that does not exit says why in the CI log.
const LINGER_REPORT_MS = 10_000;

const write = process.stdout.write.bind(process.stdout);
let armed = false;
process.stdout.write = (chunk, ...rest) => {
  if (!armed && /Duration:\s+[\d.]+m?s/.test(String(chunk))) {
    armed = true;
    setTimeout(reportHandles, LINGER_REPORT_MS).unref();
  }
  return write(chunk, ...rest);
};

function describe(handle) {
  const name = handle?.constructor?.name ?? typeof handle;
  if (name === 'ChildProcess') return `ChildProcess pid ${handle.pid} (${handle.spawnfile})`;
  if (name === 'Socket' || name === 'Server') {
    const addr = handle.remoteAddress ?? handle.address?.()?.address ?? '';
    return `${name} ${addr} fd ${handle._handle?.fd ?? '?'}`;
  }
  return name;
}

function reportHandles() {
  const handles = (process._getActiveHandles?.() ?? []).map(describe);
  const resources = process.getActiveResourcesInfo?.() ?? [];
  process.stderr.write(
    `\n⚠ this test process is still alive ${LINGER_REPORT_MS / 1000} s after its summary.\n` +
      `  handles: ${handles.join('; ') || 'none'}\n  resources: ${resources.join(', ')}\n`,
  );
}
