/**
 * Measures issue 4's reward-model targets on the synthetic task: trains M_P^SFT, R_P and R_PIT
 * (both initialised from the SFT trunk), then reports R_P held-out pairwise accuracy, R_PIT swap
 * accuracy, the label-noise cap, the mean judge score of M_P^SFT samples and wall-clock per stage.
 *
 *   npx tsx scripts/measure-rewards.ts [--steps-sft N] [--steps-rm N] [--steps-rpit N] [--size N] [--out DIR]
 *
 * `--size N` regenerates N pairs (seed 0) instead of the committed 2,000; splits stay 80/10/10.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  generateSynthetic,
  judge,
  loadSynthetic,
  type PreferenceDataset,
  SPECIAL_IDS,
  SYNTH_FRACTIONS,
  WordTokenizer,
} from '../src/data';
import { copyTrunk, Gpt, RewardModel, sample, saveGpt, saveRewardModel } from '../src/models';
import { runtime } from '../src/runtime';
import { formatMetrics, policyPrompt, sftExamples, trainReward, trainSft } from '../src/train';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const outDir = (() => {
  const i = process.argv.indexOf('--out');
  return i > 0 ? process.argv[i + 1]! : 'runs/measure-rewards';
})();
/** Two layers of the reference width: keeps each stage within about 3 minutes on 2 CPU cores. */
const MODEL = { blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 128 };

async function splits(
  size: number,
): Promise<{ train: PreferenceDataset; valid: PreferenceDataset }> {
  if (size === 0)
    return { train: await loadSynthetic('train'), valid: await loadSynthetic('valid') };
  const parts = generateSynthetic({ seed: 0, size }).pairs.split({
    seed: 0,
    fractions: SYNTH_FRACTIONS,
  });
  return { train: parts.train, valid: parts.valid };
}

/** Fraction of pairs whose label agrees with the judge: the accuracy of a perfect judge-copy. */
function labelCap(ds: PreferenceDataset): number {
  const ok = ds.records.filter(
    (r) => Number(r.meta?.chosen_score) > Number(r.meta?.rejected_score),
  );
  return ok.length / Math.max(1, ds.size);
}

async function judgeSamples(model: Gpt, tok: WordTokenizer, prompts: string[]) {
  const rng = runtime.rng('measure.sample');
  const scores: number[] = [];
  let eos = 0;
  for (let i = 0; i < prompts.length; i += 50) {
    const batch = prompts.slice(i, i + 50);
    const out = sample(
      model,
      batch.map((x) => policyPrompt(tok, x)),
      { maxNewTokens: 24, temperature: 0.7, eosId: SPECIAL_IDS.eos, padId: SPECIAL_IDS.pad, rng },
    );
    for (const [j, ids] of out.tokens.entries())
      scores.push(judge(batch[j]!, tok.decode(ids)).score);
    eos += out.finished.filter(Boolean).length;
  }
  return {
    meanJudge: scores.reduce((a, b) => a + b, 0) / scores.length,
    perfect: scores.filter((s) => s === 1).length / scores.length,
    eosRate: eos / prompts.length,
    n: scores.length,
  };
}

async function main() {
  await runtime.ready();
  runtime.seed(0);
  const tok = WordTokenizer.synthetic();
  const { train, valid } = await splits(arg('size', 0));
  const config = { ...MODEL, vocabSize: tok.vocabSize };
  const log = (row: object) => console.log(formatMetrics(row as never));
  mkdirSync(outDir, { recursive: true });
  const report: Record<string, unknown> = {
    model: config,
    trainPairs: train.size,
    validPairs: valid.size,
  };

  // Stage 1: M_P SFT on x → y_w
  const mp = new Gpt(config, undefined, 'measure.mp');
  const sft = await trainSft(
    { policy: mp },
    { train: sftExamples(tok, train.records, 'mp'), eval: sftExamples(tok, valid.records, 'mp') },
    {
      maxSteps: arg('steps-sft', 400),
      batchSize: 32,
      lr: 2e-3,
      evalEvery: 0,
      logEvery: 50,
      checkpointEvery: 0,
      outDir,
      resume: false,
      stage: 'sft_mp',
    },
    { onLog: log },
  );
  saveGpt(join(outDir, 'mp_sft.safetensors'), mp);
  const judged = await judgeSamples(
    mp,
    tok,
    valid.records.map((r) => r.prompt),
  );
  report.sft = { seconds: sft.seconds, eval: sft.lastEval, samples: judged };
  console.log('M_P^SFT samples on valid prompts:', judged, `(${sft.seconds.toFixed(1)} s)`);

  // Stages 2–3: R_P and R_PIT, both from the SFT trunk
  const rmConfig = {
    maxSteps: arg('steps-rm', 300),
    batchSize: 16,
    lr: 3e-4,
    evalEvery: 0,
    logEvery: 50,
    checkpointEvery: 0,
    outDir,
    resume: false,
  };
  const data = { tokenizer: tok, train: train.records, eval: valid.records };
  const rp = new RewardModel('rp', copyTrunk(mp));
  const rpRun = await trainReward(
    { reward: rp },
    data,
    { ...rmConfig, loss: 'rp-difference', stage: 'reward_rp' },
    { onLog: log },
  );
  saveRewardModel(join(outDir, 'rp.safetensors'), rp);
  const rpit = new RewardModel('rpit', copyTrunk(mp));
  const rpitRun = await trainReward(
    { reward: rpit, rp },
    data,
    {
      ...rmConfig,
      maxSteps: arg('steps-rpit', 150),
      loss: 'five-constraints',
      stage: 'reward_rpit',
    },
    { onLog: log },
  );
  saveRewardModel(join(outDir, 'rpit.safetensors'), rpit);
  report.rp = { seconds: rpRun.seconds, offset: rpRun.offset, eval: rpRun.lastEval };
  report.rpit = { seconds: rpitRun.seconds, offset: rpitRun.offset, eval: rpitRun.lastEval };
  report.labelCap = { valid: labelCap(valid), train: labelCap(train) };
  report.numTensors = tf.memory().numTensors;
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
