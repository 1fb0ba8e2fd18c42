/**
 * The gradient thread's entry (see gradient_thread.ts): a tfjs runtime on the caller's backend, a
 * replica of the caller's model, and a loop that loads the weights it is sent and returns one
 * SFT micro-batch's loss, statistics and gradients, in the caller's variable order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { Gpt } from '../models';
import { type BackendName, runtime } from '../runtime';
import type { GradientReply, GradientRequest, GradientThreadInit } from './gradient_thread';
import { sftForward } from './sft';

const init = workerData as GradientThreadInit;
const flag = new Int32Array(init.ready);

function reply(message: GradientReply): void {
  init.port.postMessage(message); // copied, not transferred: on 'cpu' dataSync returns storage
  Atomics.add(flag, 0, 1);
  Atomics.notify(flag, 0);
}

function gradients(model: Gpt, vars: tf.Variable[], request: GradientRequest): GradientReply {
  vars.forEach((v, i) => {
    tf.tidy(() => v.assign(tf.tensor(request.weights[i]!, v.shape)));
  });
  let tokens = 0;
  let aux: Record<string, tf.Tensor> = {};
  const { value, grads } = tf.variableGrads(() => {
    const out = sftForward(model, request.rows, request.normaliser);
    tokens = out.tokens;
    aux = Object.fromEntries(Object.entries(out.aux).map(([k, t]) => [k, tf.keep(t as tf.Tensor)]));
    return out.loss;
  }, vars);
  const result = {
    loss: value.dataSync()[0]!,
    aux: Object.fromEntries(Object.entries(aux).map(([k, t]) => [k, t.dataSync() as Float32Array])),
    // a variable the loss does not reach gets zeros, as `guardedStep` gives it locally
    grads: vars.map((v) => (grads[v.name]?.dataSync() as Float32Array) ?? new Float32Array(v.size)),
    tokens,
  };
  tf.dispose([value, ...Object.values(grads), ...Object.values(aux)]);
  return result;
}

async function main(): Promise<void> {
  await runtime.ready({ backend: init.backend as BackendName });
  const model = new Gpt(init.model, undefined, 'gradient_thread.init');
  const vars = model.variables();
  const shapes = JSON.stringify(vars.map((v) => v.shape));
  if (shapes !== JSON.stringify(init.shapes)) {
    throw new Error(
      `replica's variables ${shapes} differ from the caller's ${JSON.stringify(init.shapes)}`,
    );
  }
  init.port.on('message', (request: GradientRequest) => {
    try {
      reply(gradients(model, vars, request));
    } catch (err) {
      reply({ error: (err as Error).message });
    }
  });
  parentPort!.postMessage({ ready: true });
}

main().catch((err: Error) => parentPort!.postMessage({ error: err.message }));
