/**
 * The notebook kernel's dataflow overhead: what the kernel adds to every execute_request before
 * and after running the cell (parse and scope analysis, cycle check, graph update, stale set),
 * for a 50-line cell in a notebook of 50 cells. Median over repeats; the target is ≤ 20 ms.
 */
import { performance } from 'node:perf_hooks';
import { analyzeCell } from '../../kernel/dataflow/analyze';
import { DataflowGraph } from '../../kernel/dataflow/graph';
import type { BenchRow } from './workloads';

/** A 50-line cell of the kind the tutorials hold: imports, data prep, a model, a loop. */
export function fiftyLineCell(): string {
  const lines = [
    "import * as tf from '@tensorflow/tfjs';",
    "import { runtime } from 'pitlab';",
    'const { rows, labels: targets } = dataset;',
    'const _scratch = rows.slice(0, 4);',
    'interface Batch { x: tf.Tensor2D; y: tf.Tensor1D }',
    'type Metric = { step: number; loss: number; acc?: number };',
    'function makeBatch(start: number, size = batchSize): Batch {',
    '  const slice = rows.slice(start, start + size);',
    '  const x = tf.tensor2d(slice.map((r) => r.features));',
    '  const y = tf.tensor1d(targets.slice(start, start + size));',
    '  return { x, y };',
    '}',
    'class Trainer {',
    '  private step = 0;',
    '  readonly history: Metric[] = [];',
    '  constructor(readonly lr: number = learningRate) {}',
    '  run(batch: Batch): Metric {',
    '    const loss = tf.tidy(() => model.loss(batch.x, batch.y).dataSync()[0]!);',
    '    this.step += 1;',
    '    const m = { step: this.step, loss };',
    '    this.history.push(m);',
    '    return m;',
    '  }',
    '}',
    'const trainer = new Trainer();',
    'const metrics: Metric[] = [];',
  ];
  for (let i = 0; lines.length < 46; i++)
    lines.push(`const m${i} = trainer.run(makeBatch(${i} * batchSize)); metrics.push(m${i});`);
  lines.push(
    'for (const { step, loss } of metrics) {',
    "  if (loss > threshold) console.log('step', step, loss.toFixed(3));",
    '}',
    'const summary = { steps: metrics.length, last: metrics.at(-1), backend: runtime.backend };',
  );
  return lines.join('\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The row of `pitlab bench`: median ms per cell of analysis + graph update. */
export function dataflowBench(quick: boolean): BenchRow[] {
  const code = fiftyLineCell();
  const graph = new DataflowGraph();
  const upstream = ['dataset', 'batchSize', 'learningRate', 'model', 'threshold'];
  for (let i = 0; i < 49; i++) {
    const src = `const v${i} = ${i};${i < upstream.length ? ` const ${upstream[i]} = v${i};` : ''}`;
    graph.set(`c${i}`, src, analyzeCell(src), false);
  }
  graph.set('reader', 'const out = summary;', analyzeCell('const out = summary;'), false);
  const [warmup, repeats] = quick ? [50, 100] : [50, 300];
  const total: number[] = [];
  const analysis: number[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const t0 = performance.now();
    const a = analyzeCell(code);
    const t1 = performance.now();
    graph.cycleWith('cell', a);
    const changed = graph.set('cell', code, a, false);
    graph.markStale(graph.dependents('cell', changed));
    graph.redefinitions('cell');
    graph.readsOf('cell');
    const t2 = performance.now();
    if (i >= warmup) {
      analysis.push(t1 - t0);
      total.push(t2 - t0);
    }
  }
  const ms = median(total);
  return [
    {
      workload: 'kernel: dataflow analysis, 50-line cell',
      backend: 'cpu',
      throughput: 1000 / ms,
      unit: 'cells/s',
      ms,
      note: `median of ${repeats} (parse ${median(analysis).toFixed(2)} ms); 50 cells in the graph; target <= 20 ms`,
    },
  ];
}
