/** `pitlab bench [--json] [--quick] [--backend B]`: throughput against PyTorch. */
import { benchWorker, formatBench, runBench } from '../bench';
import { KNOWN_BACKENDS } from '../runtime/backends';
import { type CommandHelp, oneOf, parseOptions, printedHelp } from './args';

const BENCH_OPTIONS = {
  json: { type: 'boolean', default: false, help: 'print the report as JSON' },
  quick: { type: 'boolean', default: false, help: 'fewer iterations, for a quick look' },
  backend: {
    type: 'string',
    multiple: true,
    arg: 'B',
    help: `backend to measure, repeatable: ${KNOWN_BACKENDS.join(', ')}\n(default: every available one; webgpu only on a GPU adapter)`,
  },
  // The rest is how runBench starts its per-backend worker processes.
  worker: {
    type: 'boolean',
    default: false,
    help: 'worker mode: measure the first --backend in this process, print JSON rows',
  },
  'no-overrides': {
    type: 'boolean',
    default: false,
    help: "worker mode: stock wasm, without pitlab's kernel overrides",
  },
  kernels: { type: 'boolean', default: false, help: 'worker mode: kernel microbenchmarks' },
  data: { type: 'boolean', default: false, help: 'worker mode: preference-file loaders' },
  stages: { type: 'boolean', default: false, help: 'worker mode: pipeline stages' },
  replay: {
    type: 'string',
    arg: 'FILE',
    help: "worker mode, --stages: write the trainers' batches to FILE for PyTorch to replay",
  },
} as const;

export const BENCH_HELP: CommandHelp = {
  name: 'bench',
  synopsis: '[options]',
  summary: 'benchmark training, sampling and matmul against PyTorch',
  options: BENCH_OPTIONS,
};

export async function benchCommand(args: string[]): Promise<number> {
  if (printedHelp(args, BENCH_HELP)) return 0;
  const { values } = parseOptions(args, BENCH_OPTIONS);
  const backends = values.backend?.map((b) => oneOf('--backend', b, KNOWN_BACKENDS));
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
      replayFile: values.replay,
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
