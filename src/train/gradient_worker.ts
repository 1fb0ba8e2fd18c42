/**
 * The gradient thread's entry (see gradient_thread.ts): a tfjs runtime on the caller's backend, a
 * replica of the caller's model, and a loop that loads the weights it is sent and returns each
 * SFT micro-batch's loss, statistics and gradients (`partGradients`, as the caller computes its
 * own parts), in the caller's variable order.
 */
import { workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { Gpt } from '../models';
import { type BackendName, runtime } from '../runtime';
import type { SftExample } from './batches';
import type { GradientReply, GradientRequest, GradientThreadInit } from './gradient_thread';
import { partGradients } from './loop';
import { sftForward } from './sft';

const init = workerData as GradientThreadInit;
const flag = new Int32Array(init.ready);
let loadError: string | undefined;

/** Every message goes on the caller's port, with the flag raised, so it can read it synchronously. */
function reply(message: GradientReply | { ready: true } | { error: string }): void {
  init.port.postMessage(message); // copied, not transferred: on 'cpu' dataSync returns storage
  Atomics.add(flag, 0, 1);
  Atomics.notify(flag, 0);
}

/** One part's reply: `partGradients` of `sftForward`, as host arrays. */
function gradients(
  model: Gpt,
  vars: tf.Variable[],
  request: { rows: readonly SftExample[]; normaliser: number },
): GradientReply {
  let tokens = 0;
  const part = partGradients(vars, () => {
    const out = sftForward(model, request.rows, request.normaliser);
    tokens = out.tokens;
    return { loss: out.loss, aux: out.aux };
  });
  const grads = part.grads.map((g) => g.dataSync() as Float32Array);
  tf.dispose(part.grads);
  return { loss: part.loss, aux: part.aux, grads, tokens };
}

async function main(): Promise<void> {
  await runtime.ready({ backend: init.backend as BackendName });
  const model = new Gpt(init.model, undefined, 'gradient_thread.init');
  // By name, in the caller's order: a caller that read its model from a file may hold them in
  // another order than a new model does.
  const found = init.variables.map(({ name }) => model.params.get(name));
  const mine = JSON.stringify(init.variables.map(({ name }, i) => [name, found[i]?.shape ?? null]));
  const theirs = JSON.stringify(init.variables.map(({ name, shape }) => [name, shape]));
  if (mine !== theirs) {
    throw new Error(`replica's variables ${mine} differ from the caller's ${theirs}`);
  }
  const vars = found as tf.Variable[]; // every name found, with the caller's shape
  init.port.on('message', (request: GradientRequest) => {
    if ('weights' in request) {
      // a failure here surfaces in the step's first part, which would compute on stale weights
      try {
        vars.forEach((v, i) => {
          tf.tidy(() => v.assign(tf.tensor(request.weights[i]!, v.shape)));
        });
        loadError = undefined;
      } catch (err) {
        loadError = (err as Error).message;
      }
      return;
    }
    try {
      if (loadError) throw new Error(`loading the weights: ${loadError}`);
      reply(gradients(model, vars, request));
    } catch (err) {
      reply({ error: (err as Error).message });
    }
  });
  reply({ ready: true }); // the first message: the caller's `ready()` reads it
}

main().catch((err: Error) => reply({ error: err.message }));
