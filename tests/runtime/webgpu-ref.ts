/**
 * Child-process helper of webgpu.test.ts: one forward, backward and AdamW step of a small GPT on the
 * backend named in PITLAB_BACKEND, printed as one JSON line. A process holds one tfjs engine, so the
 * cpu reference and the webgpu run each need their own.
 */
import * as tf from '@tensorflow/tfjs';
import { Gpt, lmLoss } from '../../src/models';
import { runtime } from '../../src/runtime';
import { AdamW } from '../../src/train/optim';

/** Small, but with every op the trainers use: embeddings, attention, GELU, layer norm, tied head. */
export const SMALL = { vocabSize: 48, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 32 };

export async function referenceStep(): Promise<Record<string, number[] | string>> {
  const backend = await runtime.ready();
  runtime.seed(3);
  const model = new Gpt(SMALL);
  const rng = runtime.rng('webgpu-ref.ids');
  const ids = tf.tensor2d(
    Int32Array.from({ length: 4 * 13 }, () => rng.int(SMALL.vocabSize)),
    [4, 13],
    'int32',
  );
  const { hidden } = model.forward(ids);
  const logits = model.logits(hidden);
  const logitsHead = Array.from(logits.dataSync().slice(0, 256));
  const { value, grads } = tf.variableGrads(() => lmLoss(model, ids), model.variables());
  const loss = value.dataSync()[0]!;
  const names = model.variables().map((v) => v.name);
  const gradNorms = names.map((n) => Math.sqrt(grads[n]!.square().sum().dataSync()[0]!));
  const wte = names[0]!; // the token embedding: first parameter, and tied to the output head
  const gradWte = Array.from(grads[wte]!.dataSync().slice(0, 256));
  const opt = new AdamW(model.variables(), { lr: 1e-2 });
  const { gradNorm } = opt.apply(names.map((n) => grads[n]!));
  const after = model.variables().find((v) => v.name === wte)!;
  const wteAfter = Array.from(after.dataSync().slice(0, 256));
  const loss2 = tf.tidy(() => lmLoss(model, ids).dataSync()[0]!);
  return {
    backend,
    logitsHead,
    loss: [loss],
    gradNorms,
    gradWte,
    gradNorm: [gradNorm],
    wteAfter,
    loss2: [loss2],
  };
}

if (require.main === module) {
  referenceStep().then(
    (out) => {
      process.stdout.write(`\n${JSON.stringify(out)}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
