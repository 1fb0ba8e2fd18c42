/**
 * Worker process entry (see `workers.ts`): receives one stage request, runs that stage of the
 * pipeline, reports progress and its peak memory, then exits.
 */
import type { BackendName } from '../runtime';
import { runtime } from '../runtime';
import type { PipelineConfig } from './config';
import { pipelineStages } from './stages';
import { readLentCores, type WorkerMessage, type WorkerRequest } from './workers';

const send = (m: WorkerMessage, then?: () => void) => process.send?.(m, undefined, {}, then);

// The parent is gone (killed, or it aborted the run): nothing will read this stage's result.
process.on('disconnect', () => process.exit(1));

process.once('message', async (req: WorkerRequest) => {
  try {
    await runtime.ready({ backend: req.backend as BackendName });
    const def = pipelineStages().find((s) => s.name === req.stage);
    if (!def) throw new Error(`unknown stage '${req.stage}'`);
    await def.run({
      ...req.ctx,
      config: req.ctx.config as PipelineConfig,
      progress: (fraction, detail) => {
        send({ type: 'progress', fraction, detail });
      },
      lentCores: () => readLentCores(req.lentCoresFile),
    });
    // maxRSS is in kilobytes.
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    send({ type: 'done', peakRssMb }, () => process.exit(0));
  } catch (err) {
    const e = err as Error;
    send({ type: 'error', message: e.message ?? String(err), stack: e.stack }, () =>
      process.exit(1),
    );
  }
});
