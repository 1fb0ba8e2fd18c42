/** `pitlab bench [--json] [--quick] [--backend B]`: throughput against PyTorch. */
import { parseArgs } from 'node:util';
import { benchWorker, formatBench, runBench } from '../bench';
import { type BackendName, isBackendName } from '../runtime/backends';

export async function benchCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      backend: { type: 'string', multiple: true },
      worker: { type: 'boolean', default: false },
      'no-overrides': { type: 'boolean', default: false },
      kernels: { type: 'boolean', default: false },
      data: { type: 'boolean', default: false },
      stages: { type: 'boolean', default: false },
    },
  });
  const backends = values.backend?.map((b) => {
    if (!isBackendName(b)) throw new Error(`--backend: unknown backend '${b}'`);
    return b as BackendName;
  });
  if (values.worker) {
    const rows = await benchWorker({
      backend: backends?.[0] ?? 'wasm',
      overrides: !values['no-overrides'],
      quick: values.quick,
      section: values.kernels
        ? 'kernels'
        : values.data
          ? 'data'
          : values.stages
            ? 'stages'
            : undefined,
    });
    console.log(JSON.stringify(rows));
    return 0;
  }
  const report = await runBench({
    backends,
    quick: values.quick,
    log: values.json ? undefined : (line) => console.error(line),
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatBench(report));
  return 0;
}
